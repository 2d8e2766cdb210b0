import { describe, expect, it } from 'vitest';
import type { DeviceView, SessionView } from '@fabric/protocol';
import { upsertDevice, upsertSession } from './fleet.js';

const session = (id: string, createdAt: number, status: SessionView['status'] = 'running') =>
  ({ id, createdAt, status }) as SessionView;
const device = (id: string, online: boolean) => ({ id, online }) as DeviceView;

describe('applying fleet changes', () => {
  it('puts a changed session in its place, a new one first, newest first by creation then id', () => {
    const list = [session('ses_c', 30), session('ses_b', 20), session('ses_a', 10)];
    expect(upsertSession(list, session('ses_b', 20, 'succeeded')).map((s) => [s.id, s.status])).toEqual([
      ['ses_c', 'running'],
      ['ses_b', 'succeeded'],
      ['ses_a', 'running'],
    ]);
    expect(upsertSession(list, session('ses_d', 40)).map((s) => s.id)).toEqual(['ses_d', 'ses_c', 'ses_b', 'ses_a']);
    expect(upsertSession(list, session('ses_e', 30)).map((s) => s.id)).toEqual(['ses_e', 'ses_c', 'ses_b', 'ses_a']);
    expect(list.map((s) => s.id)).toEqual(['ses_c', 'ses_b', 'ses_a']);
  });

  it('keeps only the newest sessions, as the list the server gives', () => {
    const list = [session('ses_b', 20), session('ses_a', 10)];
    expect(upsertSession(list, session('ses_c', 30), 2).map((s) => s.id)).toEqual(['ses_c', 'ses_b']);
    expect(upsertSession(list, session('ses_0', 1), 2).map((s) => s.id)).toEqual(['ses_b', 'ses_a']);
  });

  it('replaces a device in place, appends a new one, and drops one that is gone', () => {
    const list = [device('dev_a', true), device('dev_b', true)];
    expect(upsertDevice(list, 'dev_a', device('dev_a', false))).toEqual([
      device('dev_a', false),
      device('dev_b', true),
    ]);
    expect(upsertDevice(list, 'dev_c', device('dev_c', true)).map((d) => d.id)).toEqual(['dev_a', 'dev_b', 'dev_c']);
    expect(upsertDevice(list, 'dev_a', null)).toEqual([device('dev_b', true)]);
  });
});
