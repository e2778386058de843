// Compiled by `tsc --noEmit` in npm test: the types fit how the README uses them.
import EdgeSessionWorker, { withEdgeSession, SessionFamily, UserSessions, type EdgeSessionEnv } from "edge-session";

const app = {
  async fetch(request: Request, env: { GREETING: string }): Promise<Response> {
    return new Response(`${env.GREETING} ${request.headers.get("x-edge-user") ?? "anonymous"}`);
  },
  async scheduled(): Promise<void> {},
};

const wrapped = withEdgeSession(app);
const scheduled: () => Promise<void> = wrapped.scheduled;
const answer: Promise<Response> = wrapped.fetch(new Request("https://example.com/"), {} as EdgeSessionEnv, {
  waitUntil() {},
  passThroughOnException() {},
});
export { EdgeSessionWorker, SessionFamily, UserSessions, scheduled, answer };
// @ts-expect-error a handler without fetch is refused
withEdgeSession({ scheduled() {} });
