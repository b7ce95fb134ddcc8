import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import { RedisUrlError } from "./errors.js";
import { parseRedisUrl } from "./redis-url.js";

function failure(text: string): RedisUrlError {
  try {
    parseRedisUrl(text);
  } catch (err) {
    expect(err).toBeInstanceOf(RedisUrlError);
    return err as RedisUrlError;
  }
  throw new Error(`expected ${text} to be refused`);
}

describe("parseRedisUrl: a single Redis", () => {
  it.each([
    ["redis://127.0.0.1:6379", "redis://127.0.0.1:6379"],
    ["rediss://redis.internal:6380/2", "rediss://redis.internal:6380/2"],
    ["redis://default:s3cret@redis:6379/0", "redis://[redacted]@redis:6379/0"],
    ["redis://[::1]:6379?family=6", "redis://[::1]:6379?family=6"],
    ["redis://redis?password=s3cret", "redis://redis?password=[redacted]"],
  ])("hands %s to ioredis unchanged and shows it as %s", (text, redacted) => {
    const target = parseRedisUrl(text);
    expect(target.mode).toBe("standalone");
    expect(target.clientSettings()).toEqual({ url: text, options: {} });
    expect(target.redacted).toBe(redacted);
    expect(target.sentinels).toEqual([]);
  });

  it.each([
    ["http://redis:6379", "scheme http:// is not supported"],
    ["redis.internal:6379", "not a URL"],
    ["", "not a URL"],
    ["redis://redis:99999", "not a valid URL"],
    ["redis://:6379", "not a valid URL"],
  ])("refuses %j: %s", (text, message) => {
    expect(failure(text).message).toContain(message);
  });
});

describe("parseRedisUrl: Sentinel", () => {
  it("turns the URL into ioredis Sentinel options, the credentials serving master and sentinels", () => {
    const target = parseRedisUrl("redis+sentinel://app:p%40ss@s1:26379,10.0.0.2:26380,[fd00::3]:26381/main?db=3");
    expect(target.mode).toBe("sentinel");
    expect(target.clientSettings()).toEqual({
      url: undefined,
      options: {
        sentinels: [
          { host: "s1", port: 26379 },
          { host: "10.0.0.2", port: 26380 },
          { host: "fd00::3", port: 26381 },
        ],
        name: "main",
        role: "master",
        db: 3,
        username: "app",
        password: "p@ss",
        sentinelUsername: "app",
        sentinelPassword: "p@ss",
      },
    });
    expect(target.redacted).toBe("redis+sentinel://[redacted]@s1:26379,10.0.0.2:26380,[fd00::3]:26381/main?db=3");
  });

  it("defaults the sentinel port to 26379, the database to 0, and sends no credentials when none are given", () => {
    const target = parseRedisUrl("redis+sentinel://s1,s2/mymaster");
    expect(target.sentinels).toEqual([
      { host: "s1", port: 26379 },
      { host: "s2", port: 26379 },
    ]);
    expect(target.clientSettings().options).toEqual({
      sentinels: target.sentinels,
      name: "mymaster",
      role: "master",
      db: 0,
    });
    expect(target.redacted).toBe("redis+sentinel://s1:26379,s2:26379/mymaster");
  });

  it("reads the scheme in any case", () => {
    const target = parseRedisUrl("Redis+Sentinel://s1/main");
    expect(target.mode).toBe("sentinel");
    expect(target.redacted).toBe("redis+sentinel://s1:26379/main");
  });

  it("takes :password alone for the default user", () => {
    const { options } = parseRedisUrl("redis+sentinel://:s3cret@s1:26379/main").clientSettings();
    expect(options).toMatchObject({ password: "s3cret", sentinelPassword: "s3cret" });
    expect(options.username).toBeUndefined();
  });

  it("uses TLS to the master and the sentinels with rediss+sentinel://", () => {
    const { options } = parseRedisUrl("rediss+sentinel://s1:26379/main").clientSettings();
    expect(options).toMatchObject({ tls: {}, sentinelTLS: {}, enableTLSForSentinelMode: true });
  });

  it("never shows the password when logged, printed or serialised", () => {
    const target = parseRedisUrl("redis+sentinel://app:s3cret@s1:26379/main");
    expect(JSON.stringify({ target })).not.toContain("s3cret");
    expect(String(target)).not.toContain("s3cret");
    expect(inspect(target, { depth: 5, showHidden: true })).not.toContain("s3cret");
  });

  it.each([
    ["redis+sentinel:///main", "sentinel 1 has no host"],
    ["redis+sentinel://s1:26379,,s3:26379/main", "sentinel 2 has no host"],
    ["redis+sentinel://s1:26379,:26380/main", "sentinel 2 has no host"],
    ["redis+sentinel://s1:26379", "no master name"],
    ["redis+sentinel://s1:26379/", "no master name"],
    ["redis+sentinel://s1:26379/main/2", "may not contain spaces or /"],
    ["redis+sentinel://s1:port/main", 'sentinel 1 has port "port"'],
    ["redis+sentinel://s1:0/main", 'sentinel 1 has port "0"'],
    ["redis+sentinel://s1:65536/main", 'sentinel 1 has port "65536"'],
    ["redis+sentinel://s1:/main", 'sentinel 1 has port ""'],
    ["redis+sentinel://s1:26379,s_2$:26379/main", 'sentinel 2 "s_2$" is not a host name'],
    ["redis+sentinel://fd00::1:26379/main", "is not host:port"],
    ["redis+sentinel://[zz::1]:26379/main", 'sentinel 1 "zz::1" is not a host name or IP address'],
    ["redis+sentinel://s1/main?db=x", 'db "x" is not a database number'],
    ["redis+sentinel://s1/main?sentinelPassword=x", 'unknown parameter "sentinelPassword"'],
    ["redis+sentinel://s3cret@s1/main", "credentials must be user:password"],
    ["redis+sentinel://app:%zz@s1/main", "the password is not valid %-encoding"],
  ])("refuses %j: %s", (text, message) => {
    const err = failure(text);
    expect(err.message).toContain(message);
    expect(err.code).toBe("invalid_redis_url");
  });

  it("does not repeat the credentials in its errors", () => {
    const err = failure("redis+sentinel://app:s3cret@s1:26379,s2:bad/main");
    expect(err.message).not.toContain("s3cret");
  });
});
