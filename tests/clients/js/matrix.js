// The client matrix, JavaScript side: the official AfterShip and EasyPost SDKs pointed at the
// mock carriers. Reads a JSON plan on stdin ({aftership: {base, keys: [good, slow, banned],
// number}, easypost: {...}}), runs fetch, parse, 429, ban and bad key with each SDK, and prints
// what each SDK reported as one JSON document. tests/test_clients_js.py judges it.
"use strict";

const { AfterShip } = require("@aftership/tracking-sdk");
const EasyPostClient = require("@easypost/api");

async function outcome(call) {
  try {
    const value = await call();
    return { ok: true, value };
  } catch (error) {
    return {
      ok: false,
      status: error.status_code ?? error.statusCode ?? null,
      code: error.code ?? null,
      meta_code: error.meta_code ?? null,
      type: error.constructor ? error.constructor.name : typeof error,
      headers: error.response_headers ?? null,
    };
  }
}

async function aftership(plan) {
  const [good, slow, banned, another] = plan.keys;
  const client = (key) => new AfterShip({ api_key: key, domain: plan.base, max_retry: 0 });
  const created = await client(good).tracking.createTracking({
    tracking_number: plan.number,
    slug: "ups",
  });
  const fetched = await client(good).tracking.getTrackingById(created.data.id);
  const tracking = fetched.data;
  const slowClient = client(slow);
  const slowCreated = await slowClient.tracking.createTracking({ tracking_number: plan.number });
  const limited = await outcome(() => slowClient.tracking.getTrackingById(slowCreated.data.id));
  const bannedClient = client(banned);
  const bannedCreated = await bannedClient.tracking.createTracking({
    tracking_number: plan.number,
  });
  const violation = await outcome(() => bannedClient.tracking.getTrackingById(bannedCreated.data.id));
  const ban = await outcome(() => bannedClient.tracking.getTrackingById(bannedCreated.data.id));
  const bad = await outcome(() => client("nobody").tracking.getTrackingById(created.data.id));
  const other = await outcome(() => client(another).tracking.getTrackingById(created.data.id));
  return {
    slug: tracking.slug,
    tag: tracking.tag,
    checkpoints: tracking.checkpoints.map((c) => c.message),
    first_checkpoint_time: tracking.checkpoints[0].checkpoint_time,
    remaining: fetched.response_headers ? fetched.response_headers["x-ratelimit-remaining"] : null,
    limited,
    violation,
    ban,
    bad,
    other_key: other,
  };
}

async function easypost(plan) {
  const [good, slow, banned, another] = plan.keys;
  const client = (key) => new EasyPostClient(key, { baseUrl: `${plan.base}/v2/` });
  const created = await client(good).Tracker.create({ tracking_code: plan.number, carrier: "USPS" });
  const fetched = await client(good).Tracker.retrieve(created.id);
  const listed = await client(good).Tracker.all({ tracking_codes: [plan.number], page_size: 5 });
  const batch = await client(good).Tracker.retrieveBatch({ tracking_codes: [plan.number] });
  const slowClient = client(slow);
  const slowCreated = await slowClient.Tracker.create({ tracking_code: plan.number });
  const limited = await outcome(() => slowClient.Tracker.retrieve(slowCreated.id));
  const bannedClient = client(banned);
  const bannedCreated = await bannedClient.Tracker.create({ tracking_code: plan.number });
  const violation = await outcome(() => bannedClient.Tracker.retrieve(bannedCreated.id));
  const ban = await outcome(() => bannedClient.Tracker.retrieve(bannedCreated.id));
  const bad = await outcome(() => client("nobody").Tracker.retrieve(created.id));
  const other = await outcome(() => client(another).Tracker.retrieve(created.id));
  const deleted = await outcome(() => client(good).Tracker.delete(created.id));
  const gone = await outcome(() => client(good).Tracker.retrieve(created.id));
  return {
    carrier: fetched.carrier,
    mode: fetched.mode,
    status: fetched.status,
    details: fetched.tracking_details.map((d) => d.message),
    listed: listed.trackers.map((t) => t.tracking_code),
    batch: batch.trackers.map((t) => t.tracking_code),
    limited,
    violation,
    ban,
    bad,
    other_key: other,
    deleted: deleted.ok,
    gone,
  };
}

async function main() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const plan = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  const report = {
    aftership: await aftership(plan.aftership),
    easypost: await easypost(plan.easypost),
  };
  process.stdout.write(JSON.stringify(report));
}

main().catch((error) => {
  process.stderr.write(`${error && error.stack ? error.stack : error}\n`);
  process.exit(1);
});
