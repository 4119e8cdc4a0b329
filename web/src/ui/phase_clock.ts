// A long step's elapsed time on the status line ("Preparing the GPU… 12 s"), ticking twice a second,
// so a step that shows no other progress (session creation, the first run's shader compilation) is
// seen to be alive. The phase is also the status element's data-phase, for tests.

export class PhaseClock {
  private timer = 0;
  private started = 0;

  constructor(
    private readonly element: HTMLElement,
    private readonly render: (text: string) => void,
  ) {}

  get phase(): string | undefined {
    return this.element.dataset.phase;
  }

  /** Starts (or restarts) timing `phase`, shown as "`label`… N s". */
  start(phase: string, label: string): void {
    this.stop();
    this.element.dataset.phase = phase;
    this.started = performance.now();
    const tick = () => this.render(`${label}… ${Math.floor((performance.now() - this.started) / 1000)} s`);
    tick();
    this.timer = window.setInterval(tick, 500);
  }

  /** Seconds since start(), 0 when stopped. */
  elapsedSeconds(): number {
    return this.timer ? (performance.now() - this.started) / 1000 : 0;
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = 0;
    delete this.element.dataset.phase;
  }
}
