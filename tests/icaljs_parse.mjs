// Parse iCalendar files with Mozilla's ical.js (the parser inside Thunderbird) and print, as
// JSON, what a client would see: the calendar's own properties and each event.
//
//   node tests/icaljs_parse.mjs FEED.ics [FEED.ics ...]
//
// Prints {"FEED.ics": {"calendar": {...}, "events": [...]}, ...}. A file that does not parse
// makes the script exit 1 with ical.js's message on stderr.
import { readFileSync } from "node:fs";
import ICAL from "ical.js";

// ical.js reads properties it does not know with the "unknown" type, keeping "\," and "\n"
// as written; RFC 5545 (3.8.8.2) gives non-standard properties the TEXT type by default, and
// RFC 7986 makes NAME text, so they are declared as text here to be read as clients show them.
for (const name of ["name", "x-wr-calname", "x-wr-caldesc"]) {
  ICAL.design.icalendar.property[name] = { defaultType: "text" };
}

function value(prop) {
  if (prop === null) return null;
  const v = prop.getFirstValue();
  return v !== null && typeof v === "object" ? v.toString() : v;
}

function parse(path) {
  const root = new ICAL.Component(ICAL.parse(readFileSync(path, "utf8")));
  if (root.name !== "vcalendar") throw new Error(`${path}: the root is ${root.name}`);
  const refresh = root.getFirstProperty("refresh-interval");
  const calendar = {
    version: root.getFirstPropertyValue("version"),
    prodid: root.getFirstPropertyValue("prodid"),
    method: root.getFirstPropertyValue("method"),
    name: root.getFirstPropertyValue("x-wr-calname"),
    description: root.getFirstPropertyValue("x-wr-caldesc"),
    refresh_interval: value(refresh),
    refresh_interval_type: refresh === null ? null : refresh.type,
    published_ttl: root.getFirstPropertyValue("x-published-ttl"),
  };
  const events = root.getAllSubcomponents("vevent").map((vevent) => {
    const event = new ICAL.Event(vevent);
    return {
      uid: event.uid,
      summary: event.summary,
      start: event.startDate.toString(),
      start_is_date: event.startDate.isDate,
      end: event.endDate.toString(),
      end_is_date: event.endDate.isDate,
      status: vevent.getFirstPropertyValue("status"),
      sequence: event.sequence,
      dtstamp: value(vevent.getFirstProperty("dtstamp")),
      last_modified: value(vevent.getFirstProperty("last-modified")),
      categories: vevent.getAllProperties("categories").flatMap((p) => p.getValues()),
      alarms: vevent.getAllSubcomponents("valarm").map((a) => value(a.getFirstProperty("trigger"))),
      allday_outlook: vevent.getFirstPropertyValue("x-microsoft-cdo-alldayevent"),
      url: vevent.getFirstPropertyValue("url"),
      description: event.description,
    };
  });
  return { calendar, events };
}

const out = {};
for (const path of process.argv.slice(2)) {
  try {
    out[path] = parse(path);
  } catch (err) {
    process.stderr.write(`${path}: ${err.message}\n`);
    process.exit(1);
  }
}
process.stdout.write(JSON.stringify(out));
