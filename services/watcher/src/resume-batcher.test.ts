import { describe, expect, it } from "vitest";
import { ResumeBatcher } from "./resume-batcher.js";
import type { KnownObject, ResumeState, ScopeStore } from "./resume-store.js";

interface Saved {
  set: [string, KnownObject][];
  del: string[];
  rv: string;
  now: boolean | undefined;
}

/** A scope store whose saves wait until the test answers them. */
function fakeStore() {
  const saves: Saved[] = [];
  const answers: { resolve: () => void; reject: (err: Error) => void }[] = [];
  const store: ScopeStore = {
    load: async (): Promise<ResumeState> => ({ known: new Map() }),
    save: (set, del, rv, now) => {
      saves.push({ set: [...set], del: [...del], rv, now });
      return new Promise<void>((resolve, reject) => answers.push({ resolve, reject }));
    },
  };
  return { store, saves, answers };
}

const web: KnownObject = { rv: "5", namespace: "shop", name: "web", kind: "Ingress" };
const api: KnownObject = { rv: "6", namespace: "shop", name: "api", kind: "Ingress" };
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe("ResumeBatcher", () => {
  it("saves the changes of one turn together, the first one at once", async () => {
    const { store, saves, answers } = fakeStore();
    let point: string | undefined = "10";
    const batcher = new ResumeBatcher(
      store,
      () => point,
      () => {},
    );
    batcher.known("u1", web);
    batcher.schedule();
    batcher.known("u2", api);
    point = "11";
    batcher.schedule();
    await turn();
    expect(saves).toEqual([
      {
        set: [
          ["u1", web],
          ["u2", api],
        ],
        del: [],
        rv: "11",
        now: true,
      },
    ]);
    answers[0]?.resolve();
    await turn();

    batcher.deleted("u1");
    point = "12";
    batcher.schedule();
    await turn();
    expect(saves[1]).toEqual({ set: [], del: ["u1"], rv: "12", now: false });
  });

  it("keeps one save in flight; the next carries everything applied meanwhile", async () => {
    const { store, saves, answers } = fakeStore();
    let point = "1";
    const batcher = new ResumeBatcher(
      store,
      () => point,
      () => {},
    );
    batcher.known("u1", web);
    batcher.schedule();
    await turn();
    batcher.known("u2", api);
    point = "2";
    batcher.schedule();
    batcher.deleted("u1");
    point = "3";
    batcher.schedule();
    await turn();
    expect(saves).toHaveLength(1);
    answers[0]?.resolve();
    await turn();
    expect(saves).toHaveLength(2);
    expect(saves[1]).toMatchObject({ set: [["u2", api]], del: ["u1"], rv: "3" });
  });

  it("saves nothing before there is a resume point, or when nothing changed since the last save", async () => {
    const { store, saves, answers } = fakeStore();
    let point: string | undefined;
    const batcher = new ResumeBatcher(
      store,
      () => point,
      () => {},
    );
    batcher.known("u1", web);
    await batcher.save();
    expect(saves).toHaveLength(0);
    point = "1";
    const first = batcher.save();
    answers[0]?.resolve();
    await first;
    await batcher.save(true);
    expect(saves).toHaveLength(1);
  });

  it("after a failed save, the next carries its changes, newer ones winning, and the failure is reported", async () => {
    const { store, saves, answers } = fakeStore();
    const failures: string[] = [];
    let point = "1";
    const batcher = new ResumeBatcher(
      store,
      () => point,
      (err) => failures.push(err.message),
    );
    batcher.known("u1", web);
    batcher.known("u2", api);
    batcher.schedule();
    await turn();
    batcher.deleted("u1");
    point = "2";
    answers[0]?.reject(new Error("redis down"));
    await turn();
    expect(failures).toEqual(["redis down"]);

    const again = batcher.save();
    answers[1]?.resolve();
    await again;
    expect(saves[1]).toEqual({ set: [["u2", api]], del: ["u1"], rv: "2", now: true });
  });
});
