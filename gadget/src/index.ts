/** The bundle's global `fb24`: the entry inside the Finesse desktop, and the standalone page's. */
export { startInDesktop } from './desktop';
export { startStandalone } from './standalone';
