// aws-local-stepfunctions needs Promise.withResolvers (Node >= 22); Node 20 gets core-js's.
require('core-js/actual/promise/with-resolvers');
