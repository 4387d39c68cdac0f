/** The bundle's global `fb24`. */
export { startInDesktop } from './desktop';
