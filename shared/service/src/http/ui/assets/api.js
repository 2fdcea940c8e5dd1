// Credentials and calls to the /v1 JSON API. The page holds either the tenant's API key
// (typed in once) or a signed session token (from a #session=… link the SaaS backend
// minted), in sessionStorage only: gone when the tab closes, never in a URL after load.
(function () {
  "use strict";
  const CS = (window.CS = window.CS || {});
  const KEY = "crmsync.auth";

  CS.auth = {
    current: null,
    // Takes a session token from the fragment (and removes it from the address bar).
    load() {
      const hash = new URLSearchParams(location.hash.replace(/^#/, ""));
      const token = hash.get("session");
      if (token) {
        sessionStorage.setItem(KEY, JSON.stringify({ scheme: "Session", token }));
        history.replaceState(null, "", location.pathname + location.search);
      }
      try {
        this.current = JSON.parse(sessionStorage.getItem(KEY));
      } catch (e) {
        this.current = null;
      }
      return this.current;
    },
    useKey(key) {
      this.current = { scheme: "Bearer", token: key.trim() };
      sessionStorage.setItem(KEY, JSON.stringify(this.current));
    },
    clear() {
      this.current = null;
      sessionStorage.removeItem(KEY);
    },
    // The connection a session token is bound to (its third dot-separated part), if any.
    sessionConnection() {
      const a = this.current;
      if (!a || a.scheme !== "Session") return null;
      return a.token.split(".")[2] || null;
    },
  };

  class ApiError extends Error {
    constructor(status, body) {
      const e = (body && body.error) || {};
      super(e.message || (status ? "The server answered with status " + status + "." : "The request failed."));
      this.status = status;
      this.code = e.code || null;
      this.field = e.field || null;
      this.problems = e.problems || [];
    }
  }
  CS.ApiError = ApiError;

  // One JSON call; failures throw ApiError carrying the API's own sentence.
  CS.api = async function (method, path, body) {
    const headers = { accept: "application/json" };
    if (CS.auth.current) headers.authorization = CS.auth.current.scheme + " " + CS.auth.current.token;
    if (body !== undefined) headers["content-type"] = "application/json";
    let response;
    try {
      response = await fetch(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: "omit",
        cache: "no-store",
      });
    } catch (e) {
      throw new ApiError(0, { error: { message: "crmsync could not be reached. Check the network and try again." } });
    }
    const text = await response.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch (e) {
      data = null;
    }
    if (!response.ok) {
      const err = new ApiError(response.status, data);
      if (response.status === 401 && CS.onUnauthorized) CS.onUnauthorized(err);
      throw err;
    }
    return data;
  };

  // A path under the selected connection.
  CS.conn = function (suffix) {
    return "/v1/connections/" + encodeURIComponent(CS.state.connection) + (suffix || "");
  };

  CS.state = { connection: null, connections: [] };
})();
