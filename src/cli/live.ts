/**
 * One live area at a time on the terminal. Anything else that needs the
 * terminal (a prompt, a confirmation, a block of text) runs inside
 * `withTerminal`, which clears the live area first and redraws it afterwards,
 * so a prompt is never erased by a redraw and never drawn into.
 */
export interface LiveArea {
  /** Clear the area and stop redrawing; returns the function that resumes it. */
  pause(): () => void;
}

let active: LiveArea | null = null;

export function setLiveArea(area: LiveArea | null): void {
  active = area;
}

export async function withTerminal<T>(use: () => Promise<T> | T): Promise<T> {
  const resume = active?.pause() ?? (() => {});
  try {
    return await use();
  } finally {
    resume();
  }
}

/** Synchronous variant for writing a block above the live area. */
export function aboveLive(write: () => void): void {
  const resume = active?.pause() ?? (() => {});
  try {
    write();
  } finally {
    resume();
  }
}
