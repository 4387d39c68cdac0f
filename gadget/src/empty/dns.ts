// node:dns stand-in for the browser bundle (xmpp.js #1093)\nexport default {};
