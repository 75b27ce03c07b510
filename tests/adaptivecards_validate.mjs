// Check Microsoft Teams messages with Microsoft's own Adaptive Cards SDK (the `adaptivecards`
// npm package), at the card version the Teams Workflows post step draws (1.4).
//
//   node tests/adaptivecards_validate.mjs < messages.json
//
// Reads a JSON list of messages ({"type": "message", "attachments": [{"content": card}]}) and
// prints a JSON list with, for each, the problems the SDK finds: its parse events (unknown
// element or action types, properties newer than 1.4, bad values) and its validation events
// (a missing required property, duplicate ids, a card version past 1.4). An empty list per
// message means the SDK accepts it.
//
// The package's `main` is ESM with extensionless imports that Node cannot load
// (microsoft/AdaptiveCards#9155): its webpack bundle is loaded instead. No DOM is needed to
// parse and validate (only to render).
import { readFileSync } from "node:fs";
import AC from "adaptivecards/dist/adaptivecards.js";

function problems(message) {
  const found = [];
  if (message.type !== "message") found.push(`envelope: type is ${message.type}`);
  const attachments = message.attachments || [];
  if (attachments.length !== 1) found.push(`envelope: ${attachments.length} attachments`);
  for (const a of attachments) {
    if (a.contentType !== "application/vnd.microsoft.card.adaptive") {
      found.push(`envelope: contentType ${a.contentType}`);
    }
    const json = a.content;
    if (!json || typeof json !== "object") { found.push("envelope: no card"); continue; }
    if (!json.version) found.push("card: no version");  // the SDK does not check it
    const card = new AC.AdaptiveCard();
    card.maxVersion = AC.Versions.v1_4;
    const context = new AC.SerializationContext(AC.Versions.v1_4);
    card.parse(json, context);
    for (let i = 0; i < context.eventCount; i++) {
      const e = context.getEventAt(i);
      found.push(`parse: ${AC.ValidationEvent[e.event]}: ${e.message}`);
    }
    for (const e of card.validateProperties().validationEvents) {
      found.push(`validate: ${AC.ValidationEvent[e.event]}: ${e.message}`);
    }
  }
  return found;
}

const messages = JSON.parse(readFileSync(0, "utf8"));
process.stdout.write(JSON.stringify(messages.map(problems)));
