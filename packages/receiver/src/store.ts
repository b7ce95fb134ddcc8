/**
 * Where the receiver keeps what it must not forget across restarts: held objects, tombstones of
 * deleted ones and snapshots waiting to be swept. Values are plain JSON; every value read back is
 * validated. `keys()` lists every key, so the receiver can load its state when it starts.
 */
export interface ReceiverStore {
  get(key: string): Promise<unknown>;
  set(key: string, value: unknown): Promise<void>;
  delete(key: string): Promise<void>;
  keys(): Promise<string[]>;
}

/** The default: nothing survives the process. Values are copied in and out, as a real store would. */
export function memoryStore(): ReceiverStore {
  const data = new Map<string, string>();
  return {
    get: async (key) => {
      const text = data.get(key);
      return text === undefined ? undefined : JSON.parse(text);
    },
    set: async (key, value) => {
      data.set(key, JSON.stringify(value));
    },
    delete: async (key) => {
      data.delete(key);
    },
    keys: async () => [...data.keys()],
  };
}
