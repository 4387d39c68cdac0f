/**
 * An error that says its own class in logs and answers (`err.type` in a log line is its name, not "Error"). Every
 * error class of the gadget and the middleware extends it.
 */
export class NamedError extends Error {
  constructor(message?: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}
