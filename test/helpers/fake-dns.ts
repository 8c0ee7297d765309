// Loaded into a nodeprof process with NODE_OPTIONS=--import <this file, built>: makes the names in
// NODEPROF_TEST_FAKE_DNS ("name=address,name=address") resolve to those addresses in that process
// only, so a test can have `svc.localhost` resolve off loopback without touching /etc/hosts or DNS.
import dns from 'node:dns';

const fake = new Map(
  (process.env.NODEPROF_TEST_FAKE_DNS ?? '')
    .split(',')
    .filter(Boolean)
    .map((pair) => pair.split('=') as [string, string]),
);
const lookup = dns.promises.lookup.bind(dns.promises);
(dns.promises as { lookup: unknown }).lookup = (host: string, opts?: dns.LookupOptions) => {
  const address = fake.get(host.toLowerCase());
  return address ? Promise.resolve({ address, family: address.includes(':') ? 6 : 4 }) : lookup(host, opts ?? {});
};
