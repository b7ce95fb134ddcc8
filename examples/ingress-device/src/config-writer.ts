import { rename, rm } from "node:fs/promises";
import { checkConfig, reloadNginx } from "./nginx.js";
import { tempPathFor, writeSynced } from "./write-atomic.js";

export interface WriterOptions {
  out: string;
  render: () => string;
  /** Path of nginx: when set, every file is checked with `nginx -t` before it replaces the old one. */
  nginx?: string;
  /** `nginx -s reload` after each new file (needs `nginx`). */
  reload: boolean;
  onWritten?: (info: { bytes: number; checked: boolean; reloaded: boolean }) => void;
  onError: (err: unknown) => void;
}

export class NginxRejectedError extends Error {
  readonly code = "nginx_rejected";
  constructor(readonly output: string) {
    super(`nginx -t refused the generated configuration; the previous file stays: ${output}`);
  }
}

/**
 * Writes the rendered configuration whenever asked, one write at a time: requests that come while
 * a write runs are folded into one more write, so a burst of events costs two writes, not one each.
 * A file nginx refuses never replaces the one in place.
 */
export class ConfigWriter {
  private running: Promise<void> | undefined;
  private dirty = false;
  private last: string | undefined;

  constructor(private readonly o: WriterOptions) {}

  request(): void {
    this.dirty = true;
    this.running ??= this.loop().finally(() => {
      this.running = undefined;
    });
  }

  /** Resolves when no write is running or pending. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private async loop(): Promise<void> {
    while (this.dirty) {
      this.dirty = false;
      try {
        await this.writeOnce();
      } catch (err) {
        this.o.onError(err);
      }
    }
  }

  private async writeOnce(): Promise<void> {
    const config = this.o.render();
    if (config === this.last) return;
    const tmp = tempPathFor(this.o.out);
    try {
      await writeSynced(tmp, config);
      if (this.o.nginx) {
        const check = await checkConfig(this.o.nginx, tmp);
        if (!check.ok) throw new NginxRejectedError(check.output);
      }
      await rename(tmp, this.o.out);
    } finally {
      await rm(tmp, { force: true });
    }
    this.last = config;
    let reloaded = false;
    if (this.o.reload && this.o.nginx) {
      await reloadNginx(this.o.nginx);
      reloaded = true;
    }
    this.o.onWritten?.({ bytes: Buffer.byteLength(config), checked: Boolean(this.o.nginx), reloaded });
  }
}
