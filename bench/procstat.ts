/** Resident memory and CPU time of processes, from /proc (Linux). */
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

let clockTicks: number | undefined;

function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

export interface ProcSample {
  readonly pid: number;
  /** VmRSS in bytes. */
  readonly rssBytes: number;
  /** utime + stime in seconds. */
  readonly cpuSeconds: number;
}

export function sampleProcess(pid: number): ProcSample | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rssKb = Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1] ?? '0');
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of stat, i.e. 11 and 12 after the command name.
    const utime = Number(fields[11] ?? '0');
    const stime = Number(fields[12] ?? '0');
    return { pid, rssBytes: rssKb * 1024, cpuSeconds: (utime + stime) / ticksPerSecond() };
  } catch {
    return undefined;
  }
}

/** Samples every named process; missing ones are left out. */
export function sampleAll(pids: Record<string, number>): Record<string, ProcSample> {
  const out: Record<string, ProcSample> = {};
  for (const [name, pid] of Object.entries(pids)) {
    const s = sampleProcess(pid);
    if (s) out[name] = s;
  }
  return out;
}

export function totals(samples: Record<string, ProcSample>): { rssBytes: number; cpuSeconds: number } {
  let rssBytes = 0;
  let cpuSeconds = 0;
  for (const s of Object.values(samples)) {
    rssBytes += s.rssBytes;
    cpuSeconds += s.cpuSeconds;
  }
  return { rssBytes, cpuSeconds };
}
