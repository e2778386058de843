// The edge's two cookies and their formats, as the worker writes them (src/session):
//   __Host-es-access  = a1.<kid>.<payload>.<mac>
//   __Host-es-refresh = r1.<kid>.<family>.<generation>.<secret>.<mac>
// Tests, the bench and the soak take names and fields from here, not from literals.

export const ACCESS_COOKIE = "__Host-es-access";
export const REFRESH_COOKIE = "__Host-es-refresh";

/** The generation a refresh cookie value carries (1 at login, one more per rotation). */
export const generationOf = (refresh) => Number(refresh.split(".")[3]);

/** The family id (the origin's `sid`) a refresh cookie value carries. */
export const familyOf = (refresh) => refresh.split(".")[2];

/** Parses one Set-Cookie line into { name, value, attrs } (attribute names lower-cased). */
export function parseSetCookie(line) {
  const [pair, ...rest] = line.split(";").map((s) => s.trim());
  const eq = pair.indexOf("=");
  const attrs = {};
  for (const a of rest) {
    const i = a.indexOf("=");
    attrs[(i < 0 ? a : a.slice(0, i)).toLowerCase()] = i < 0 ? true : a.slice(i + 1);
  }
  return { name: pair.slice(0, eq), value: pair.slice(eq + 1), attrs };
}

/** Whether a parsed Set-Cookie line deletes its cookie. */
export const deletes = (cookie) => cookie.attrs["max-age"] === "0";
