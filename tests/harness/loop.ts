/** Counts turns of the event loop: an immediate that re-arms itself runs once per turn. */
export function turnCounter(): { now(): number; stop(): void } {
  let n = 0;
  let on = true;
  const bump = () => {
    n++;
    if (on) setImmediate(bump);
  };
  setImmediate(bump);
  return {
    now: () => n,
    stop: () => {
      on = false;
    },
  };
}
