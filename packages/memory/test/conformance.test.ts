import { memory } from '@tributary/memory';
import { runTransportConformance } from '@tributary/testutil';

// The suite every transport passes (packages/testutil/README.md): memory
// declares its own features (transport.features), so every test it supports
// is declared here; @tributary/kafka runs the same suite against a broker.
runTransportConformance({ name: 'memory', createTransport: () => memory() });
