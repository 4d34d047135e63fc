/**
 * The transport conformance suite from @tributary/testutil, against the real
 * broker. Every test makes its own topics and groups and closes its clients.
 */
import { runTransportConformance } from '@tributary/testutil';
import { testTransport } from './support/broker';

runTransportConformance({
  name: 'kafka',
  createTransport: () => testTransport(),
});
