/** The blob store the gateway streams documents from (shared with the services that write them). */
export const GATEWAY_STORAGE = Symbol('GATEWAY_STORAGE');
