// Calls to release-svc's API with the viewer's bearer token.

export class Unauthorised extends Error {
  constructor(message, status = 401) {
    super(message);
    this.status = status;
  }
}

export class Api {
  constructor(token) {
    this.token = token;
  }

  headers(extra) {
    return { Authorization: `Bearer ${this.token}`, ...extra };
  }

  async get(path) {
    const answer = await fetch(path, { headers: this.headers({ Accept: "application/json" }) });
    if (answer.status === 401 || answer.status === 403) {
      throw new Unauthorised(await problem(answer), answer.status);
    }
    if (!answer.ok) throw new Error(`${path}: ${await problem(answer)}`);
    return answer.json();
  }

  async post(path) {
    const answer = await fetch(path, { method: "POST", headers: this.headers({ Accept: "application/json" }) });
    if (answer.status === 401) throw new Unauthorised(await problem(answer), answer.status);
    if (!answer.ok) throw new Error(`${path}: ${await problem(answer)}`);
    return answer.json();
  }

  /** Every item of a paged list (`items`, `next` a cursor), up to `most` pages. */
  async all(path, most = 20) {
    const items = [];
    let cursor = null;
    for (let page = 0; page < most; page++) {
      const sep = path.includes("?") ? "&" : "?";
      const url = cursor ? `${path}${sep}cursor=${encodeURIComponent(cursor)}` : path;
      const body = await this.get(url);
      items.push(...body.items);
      cursor = body.next;
      if (!cursor) break;
    }
    return items;
  }
}

async function problem(answer) {
  try {
    const body = await answer.json();
    return `${answer.status} ${body.title || ""}: ${body.detail || ""}`;
  } catch {
    return `${answer.status} ${answer.statusText}`;
  }
}
