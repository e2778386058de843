// The Worker's main module, build/index.js (scripts/build-worker.sh puts it there): the
// Rust build (build/glue.js, from worker-build) with its two Durable Object classes
// declared `extends DurableObject`. workerd lets a worker call an object's methods (RPC)
// only on such a class, and the worker asks its objects with `ask()`, not `fetch()`:
// src/shell/objects/rpc.rs says why. The Rust object does the work; this only forwards.
import { DurableObject } from "cloudflare:workers";
import worker, * as rust from "./glue.js";

function callable(name, RustObject) {
  const Callable = class extends DurableObject {
    #object;

    constructor(ctx, env) {
      super(ctx, env);
      this.#object = new RustObject(ctx, env);
    }

    // A worker of a release before RPC sends its commands here (during a deploy).
    fetch(request) {
      return this.#object.fetch(request);
    }

    alarm() {
      return this.#object.alarm();
    }

    ask(command, fault, clockAheadMs) {
      return this.#object.ask(command, fault, clockAheadMs);
    }
  };
  // The export's name in stack traces (the glue's own class names are minified).
  Object.defineProperty(Callable, "name", { value: name });
  return Callable;
}

export const SessionFamily = callable("SessionFamily", rust.SessionFamily);
export const UserSessions = callable("UserSessions", rust.UserSessions);
export default worker;
