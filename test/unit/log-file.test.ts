import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../platform/log.js';
import { logWriteStats, RotatingLogFile } from '../../platform/log-file.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'arcfleet-log-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const line = (i: number) => `${JSON.stringify({ i, pad: 'x'.repeat(80) })}\n`;

describe('RotatingLogFile', () => {
  it('rotates at maxBytes and keeps only `files` rotated files, newest lines in the current one', () => {
    const path = join(dir, 'hub.log');
    const file = new RotatingLogFile({ path, maxBytes: 1000, files: 2 });
    const rotations = logWriteStats.rotations;
    for (let i = 0; i < 100; i++) file.write(line(i));
    file.close();
    for (const p of [path, `${path}.1`, `${path}.2`]) expect(statSync(p).size).toBeLessThanOrEqual(1000);
    expect(existsSync(`${path}.3`)).toBe(false);
    expect(logWriteStats.rotations - rotations).toBeGreaterThanOrEqual(9);
    const kept = [`${path}.2`, `${path}.1`, path]
      .flatMap((p) => readFileSync(p, 'utf8').trimEnd().split('\n'))
      .map((l) => (JSON.parse(l) as { i: number }).i);
    // The newest lines, in order, with none missing between them.
    expect(kept.at(-1)).toBe(99);
    expect(kept).toEqual(kept.map((_, k) => (kept[0] ?? 0) + k));
  });

  it('continues a file that is already there, counting its size', () => {
    const path = join(dir, 'agent.log');
    const a = new RotatingLogFile({ path, maxBytes: 1000, files: 1 });
    for (let i = 0; i < 8; i++) a.write(line(i));
    a.close();
    const b = new RotatingLogFile({ path, maxBytes: 1000, files: 1 });
    for (let i = 8; i < 12; i++) b.write(line(i));
    b.close();
    expect(statSync(path).size).toBeLessThanOrEqual(1000);
    expect(readFileSync(`${path}.1`, 'utf8')).toContain('"i":0,');
  });

  it('with files 0, starts the file again instead of keeping old ones', () => {
    const path = join(dir, 'x.log');
    const file = new RotatingLogFile({ path, maxBytes: 500, files: 0 });
    for (let i = 0; i < 20; i++) file.write(line(i));
    file.close();
    expect(statSync(path).size).toBeLessThanOrEqual(500);
    expect(existsSync(`${path}.1`)).toBe(false);
  });

  it('drops and counts a line it cannot write (a full disk: /dev/full) and never throws', () => {
    const dropped = logWriteStats.droppedLines;
    const file = new RotatingLogFile({ path: '/dev/full', maxBytes: 1 << 20, files: 0 });
    for (let i = 0; i < 5; i++) expect(file.write(line(i))).toBe(true);
    expect(logWriteStats.droppedLines - dropped).toBe(5);
    expect(logWriteStats.lastError).toBe('ENOSPC');
    const logger = createLogger('full', 'info', { path: '/dev/full', maxBytes: 1 << 20, files: 0 });
    expect(() => logger.info({ event: 'x' }, 'nowhere to go')).not.toThrow();
    expect(logWriteStats.droppedLines - dropped).toBe(6);
  });

  it('is where the logger writes its JSON lines when given a file', () => {
    const path = join(dir, 'svc.log');
    createLogger('svc', 'info', { path, maxBytes: 1 << 20, files: 1 }).info({ event: 'hello' }, 'hi');
    expect(JSON.parse(readFileSync(path, 'utf8'))).toMatchObject({
      service: 'svc',
      event: 'hello',
      msg: 'hi',
    });
  });
});
