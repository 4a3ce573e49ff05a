/**
 * The rtnetlink tests of kernel-netlink.test.ts again, with every socket over the synchronous
 * transport (src/kernel/netlink/sync-transport.ts) that the daemon's host and sandbox sockets use.
 */
process.env.TSNET_TEST_NETLINK = 'sync';
await import('./kernel-netlink.test.js');
