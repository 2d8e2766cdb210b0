import { describe, expect, it } from 'vitest';
import { decodeProcAddress, formatIPv6, parseProcNet } from './ports.js';

const HEADER = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode';

describe('parseProcNet', () => {
  it('keeps listening TCP sockets and decodes little-endian addresses', () => {
    const text = [
      HEADER,
      '   0: 0100007F:0CEA 00000000:0000 0A 00000000:00000000 00:00000000 00000000   106        0 24217 1 0000000000000000 100 0 0 10 0',
      '   1: 0100007F:A1B2 0100007F:0CEA 01 00000000:00000000 00:00000000 00000000  1000        0 99999 1 0000000000000000 20 4 30 10 -1',
      '   2: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1234 1 0000000000000000 100 0 0 10 0',
      'garbage line',
      '',
    ].join('\n');
    expect(parseProcNet(text, 'tcp', true)).toEqual([
      { protocol: 'tcp', address: '127.0.0.1', port: 3306, inode: 24217 },
      { protocol: 'tcp', address: '0.0.0.0', port: 22, inode: 1234 },
    ]);
  });

  it('keeps unconnected UDP sockets only, and reads IPv6 words', () => {
    const text = [
      HEADER,
      '  10: 00000000000000000000000001000000:0277 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 555 2 0000000000000000 0',
      '  11: 0000000000000000FFFF00000100007F:3039 0000000000000000FFFF00000100007F:0035 01 00000000:00000000 00:00000000 00000000     0        0 556 2 0000000000000000 0',
    ].join('\n');
    expect(parseProcNet(text, 'udp6', true)).toEqual([{ protocol: 'udp6', address: '::1', port: 631, inode: 555 }]);
  });
});

describe('decodeProcAddress', () => {
  it('decodes IPv4 and IPv6 in either byte order', () => {
    expect(decodeProcAddress('0100007F', true)).toBe('127.0.0.1');
    expect(decodeProcAddress('7F000001', false)).toBe('127.0.0.1');
    expect(decodeProcAddress('00000000000000000000000000000000', true)).toBe('::');
    expect(decodeProcAddress('0000000000000000FFFF00000100007F', true)).toBe('::ffff:7f00:1');
    expect(decodeProcAddress('B80D0120000000000000000001000000', true)).toBe('2001:db8::1');
  });
});

describe('formatIPv6', () => {
  it('compresses the first longest zero run and never a single zero group', () => {
    expect(formatIPv6([0x2001, 0xdb8, 0, 0, 1, 0, 0, 1])).toBe('2001:db8::1:0:0:1');
    expect(formatIPv6([0x2001, 0xdb8, 0, 1, 1, 1, 1, 1])).toBe('2001:db8:0:1:1:1:1:1');
    expect(formatIPv6([0xfe80, 0, 0, 0, 0xfc, 0xff, 0xfe00, 1])).toBe('fe80::fc:ff:fe00:1');
    expect(formatIPv6([1, 0, 0, 0, 0, 0, 0, 0])).toBe('1::');
  });
});
