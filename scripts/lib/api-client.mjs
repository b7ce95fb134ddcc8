// The REST API as `make run` and `make reset` use it: localhost, the first of API_TOKENS if set.
export function apiClient(port) {
  const token = process.env.API_TOKENS?.split(",")[0]?.trim();
  const headers = { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) };
  return async (method, path, body) => {
    const res = await fetch(`http://127.0.0.1:${port}/api/v1${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: await res.json().catch(() => undefined) };
  };
}

/** What make run registers: the cluster "demo" and its receivers (a fresh name per run). */
export function isDemoRegistration(kind, name) {
  return kind === "cluster" ? name === "demo" : /^demo-receiver(-[0-9a-f]{4})?$/.test(name);
}
