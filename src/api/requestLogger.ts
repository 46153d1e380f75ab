import type { FastifyBaseLogger } from "fastify";
import type { Bindings, ChildLoggerOptions } from "pino";

/**
 * A request's logger that becomes the real child logger (with the request id bound) only when something
 * logs through it. Request logging is off, so nearly every request logs nothing, and a pino child per
 * request — its bindings serialized, its level methods set up — was a measurable part of each write.
 */
export class LazyRequestLogger implements FastifyBaseLogger {
  private child_: FastifyBaseLogger | undefined;

  constructor(
    private readonly parent: FastifyBaseLogger,
    private readonly bindings: Bindings,
    private readonly options: ChildLoggerOptions,
  ) {}

  /** The child logger, made on first use. */
  private get logger(): FastifyBaseLogger {
    this.child_ ??= this.parent.child(this.bindings, this.options);
    return this.child_;
  }

  get level(): string {
    return this.child_?.level ?? this.options.level ?? this.parent.level;
  }

  set level(level: string) {
    this.logger.level = level;
  }

  fatal(...args: unknown[]): void {
    (this.logger.fatal as (...all: unknown[]) => void)(...args);
  }

  error(...args: unknown[]): void {
    (this.logger.error as (...all: unknown[]) => void)(...args);
  }

  warn(...args: unknown[]): void {
    (this.logger.warn as (...all: unknown[]) => void)(...args);
  }

  info(...args: unknown[]): void {
    (this.logger.info as (...all: unknown[]) => void)(...args);
  }

  debug(...args: unknown[]): void {
    (this.logger.debug as (...all: unknown[]) => void)(...args);
  }

  trace(...args: unknown[]): void {
    (this.logger.trace as (...all: unknown[]) => void)(...args);
  }

  silent(...args: unknown[]): void {
    (this.logger.silent as (...all: unknown[]) => void)(...args);
  }

  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.logger.child(bindings, options);
  }
}
