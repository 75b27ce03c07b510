"""How cost grows with the register: generated registers of 1,000, 10,000 and 100,000 entries
(bench/generate.py: series, relative dates, several sources), each operation in a fresh process
so that its peak memory (the process's maximum resident set, plus that of any copy of
itself it forks to read a large register) is its own.

- validate, `list --due 2005`, `publish` (every feed, into an empty folder and a new SQLite
  store): the commands as an admin runs them, start-up included. Validate runs three times:
  cold (no entry cache: every entry composed and checked); cold again on one core
  (`taskset -c 0`), where the copy of itself that a cold read of a large register forks has
  no other core to run on; then after one entry's title is edited, as an admin runs it while
  editing (the other entries from the entry cache, the cross-entry checks and dates done
  again in full); list and publish follow on the edited register;
- publish again, as a new process: into the same folder with nothing changed, then into an
  empty folder, each taking up the run the first publish kept in the cache folder
  (`feeds/kept.py`, `EventFile`);
- run: its start on the store and the feeds folder `publish` left, as `calendar-tool run`
  starts after it or after an earlier `run` (the register read with the entries the cache
  kept, the store synced, the run kept taken up, every feed checked), then a reload: what
  `run` does when one entry's title is edited under it (the register re-read, the store
  synced, the feeds whose bytes change rewritten); the figure beside it counts the feed
  files rewritten. The first edit after the start, and the median of the three edits after
  it. Then `run`'s resident size after its start and after the four reloads: what it
  holds while it waits, once `heap.trim` has handed back what a publish freed (its peak,
  while it publishes, is the "peak memory" row), and that over the entries;
- run's end (`Runner.keep`, as `Scheduler.stop` calls it), which keeps its run for the next
  start when the edits since the run kept were too few to keep it;
- run the day after: its start on what the run before left, the horizon a day further (as
  `run` starts again after a night), then its daily republish as three days pass
  (`Runner.refresh`, the median); then a publish into a new store days after the run kept
  (every entry revised and the horizon moved: its events written straight into the feeds,
  as a first publish's);
- serve: every feed `publish` wrote fetched whole, identity then gzip, twice (the first time
  each file's version is read, digested and compressed; the second sends what that kept), then
  a feed of one's own selection (`all.ics?area=firearms`) twice: its first request builds it
  (and the date index `serve` keeps in memory), the second is answered from what that kept;
  then `/api/obligations` with no filter, every occurrence as JSON (`list --format json`'s
  text); then what `serve` holds after;
- reminders: what `run` computes for all subscriptions (bench/remind.py: the reminders of
  the next two hours, and those due in the 24-hour catch-up window), for 100 to 10,000
  generated subscriptions, the register's occurrences already expanded (the row "expanding
  the register once" is what a reload costs before the first of them).

The baseline of each row is the same operation on the register ten times smaller, measured in
the same run: a ratio near 10 is linear growth. Reload's baseline is the full publish of the same
register. Targets for 100,000 entries (issue 8): validate and list within 5 s, full publish
within 20 s, peak memory under 1 GiB, a one-entry reload under 2 s; (issue 24) validate
within 3 s cold, `run` start within 5 s and under 300 MB resident, publish within 8 s and
under 300 MB, a one-entry reload within 0.5 s.

How a reload goes (issue 24): `run` holds not its events' bytes (281 MiB at 100,000
entries) but where they lie in the `all.ics` it wrote, and a feed an edit reaches is written
again as its header, the edited entry's events and the stretches between them of the file
it replaces, which the kernel copies (`files.Span`); only the entries whose revision changed
are looked at. The run kept in the cache folder says where each feed's events are, so the
first edit after a start writes the feeds it reaches in the same way (before, it picked
their events out of all 311,000 and wrote those feeds event by event). The register's
re-read finds the items the edit did not reach from how far the old and new texts agree
from each end (compared in blocks), takes their entries by place, and derives what counts
from what from the last read. So a reload at 100,000 entries is mostly the three files'
450 MB copied and flushed to disk and a dozen passes over the 100,000 entries or their
revisions, each some 40 ms on this machine (a Python object not in the processor's cache
costs about half a microsecond to reach). Measured side by side, interleaved, the code of
the last run and this one (a publish into an empty folder, then run's start and four
edits, twice each): the first reload 2.50 and 2.16 s before, 1.55 and 1.16 s after; the
three after it 1.44 to 1.74 s before, 1.09 to 2.00 s after (medians 1.59 and 1.38 s); the
start 5.2 and 5.0 s before, 5.2 and 4.5 s after; resident after the start 2 MB more (each
feed's list of events). The content hashes kept between processes (`feeds/kept.py`) cost a
fresh publish some 20 MB more at its peak and save it re-hashing every entry. The `list`
row is the first `list` on the edited register: it builds the date index whole (the
"listing" section: later ones answer from it in well under a second at 100,000 entries).
The first `publish` keeps its run in the cache folder: about 1.8 s more at 100,000 entries
when measured alone (pickling where 311,000 events lie, 1.0 s; the kernel's copy of a 320 MB
all.ics, 0.7 s), which every later `publish` and `run` start gets back several times over.
The "run: start" row is a start on the store and folder `publish` left; a cold start is
the "publish" row plus the scheduler's own start. Validate cold on one core is slower by
about three quarters at 100,000 entries: what the copy a cold read forks does on the other
core is done on the same one there.

What a process holds (issue 24, this run): equal sources and equal lists of sources, areas and
actors are read as one object each (a register cites the same paragraphs and names the same few
areas over and over: the generated one has 149 distinct sources among 200,000, a curated one
repeats fewer), and so written once by the entry cache; a process that takes up the run kept on
disk holds its own revisions rather than a second equal copy, and one date object per day; each
instant the store gives is one datetime. Measured side by side, interleaved, the code of the
last run (f8d8052) and this one, at 100,000 entries: validate cold 5.25 s and 434 MB before,
4.57 s and 327 MB after; validate from the entry cache 1.78 s and 390 MB, 1.45 s and 301 MB;
the entry cache 68 to 58 MB; publish cold 24.1 and 24.0 s and 937 MB before, 22.7 and 22.6 s
and 791 MB after; publish into an empty folder from the run kept 527 to 424 MB; run's start
3.76 and 3.80 s before, 2.88 and 3.27 s after; resident after the start 594 and 597 MB before,
494 and 495 MB after; the first reload 1.77 and 0.99 s before, 0.88 and 0.83 s after, the next
three (medians) 0.92 and 0.90 s, 0.89 and 0.85 s. After those figures, a read stopped building
a dict of every entry's place (`EntryPaths` makes it when a problem asks for a path): a reload
0.85 to 0.75 s, measured in one process over four edits. Of a reload's 0.75 s, some 0.4 s is
the kernel copying and flushing the three files and dropping the replaced all.ics from its
cache. The commands start from compiled bytecode (`bench/run.py` compiles the package first, as
installing it does).

A status recorded (issue 24, this run): recording a status makes the entry a line longer, and
the text read apart from the entries kept a blank line for each of their lines and was compared
whole, so such an edit (the keepers' most common) was re-read with the full checks, synced over
every entry and the date index built anew. It is now an edit of that entry like a title's
(`compose.outside_entries`). Measured side by side, the code before (26e9cb8) and this one, run's
reload of four status edits after its start at 100,000 entries: 2.94, 2.63, 1.60 and 2.36 s
before; 1.20, 1.00, 0.58 and 1.10 s after.

A first publish (issue 24, this run): with no last run to take events from, `publish` held
every event's bytes until every feed was written (281 MB at 100,000 entries), and the writer
held what each entry's events share (about 1.3 KB an entry) for the whole run. A first run
now serialises its events in date order into an unnamed temporary file in the feeds folder
and reads each feed back from it, and drops an entry's shared parts after its last event; a
series' estimates share the words of their derivation; and expanding a series costs a
quarter of what it did (which known occurrence gives an estimate's month is found once per
series, and the months are made once). Measured side by side at 100,000 entries: publish
into an empty folder peaked at 753 MiB before and 567 MiB with the spool alone (timed runs,
three interleaved pairs; wall 45.0 and 37.9 s, medians, the spreads overlapping); its
resident size while the feeds were written, sampled each second, 495 MB with the spool
alone, 411-418 MB with the shared parts dropped, 373-382 MB with the derivations shared.
Expanding the register's 231,336 series occurrences took 2.4-3.4 s before and 0.6-0.7 s
after; the in-memory date index the page makes on its first request, 5.4 s and 2.5 s;
publish into an empty folder from the run kept (which serialises nothing), 10.4 s and 416 MiB
before, 7.5 s and 400 MiB after (four interleaved pairs; most of the difference is system
time, 4.5 and 2.3 s, which this change does not touch: no slower, at least). After the rows
below were measured, the run kept on disk came to hold its events' places and sizes as two
arrays rather than a tuple an event: `run` starting on what publish left, twice each against
the code before, peaked at 491-496 MiB before and 468 after, and held 469-471 MiB after its
start before and 439-440 after. And the run a first publish keeps is pickled straight into
its file rather than made whole in memory first (24 MB at 100,000 entries), which was that
publish's peak: 432 MiB before, 412 after (the process's own high-water mark).
The run before this one was on a machine about 1.6 times slower for work that did not
change (validate cold 10.0 s against 6.0 s the run before it).

What `run` holds (issue 24, this run): four changes, each measured side by side with the code
before them (4aa52a5), `run` starting on what publish left at 100,000 entries, resident after
its start: 441 MB before; 417 MB once the revisions read from the store share the register's
ids and the kept hashes (`store.load_revisions`' `held`; a lookup per row, about 0.15 s more of
the start); 404 MB once entries are pickled by their constructor (`register/pickles`: read back
with no dict of their own; the entry cache 55.1 to 50.4 MB); 387 MB once an event is one object
rather than a pair of its key and a block; 371 MB once it holds its day, entry id and number
rather than a key tuple (the run kept on disk holds them as columns). The peak of that start
469 MB before, 406 MB after. Four interleaved runs of this section's reload child after all
four: the start 3.85 to 4.31 s before, 3.81 to 4.06 s after; the next three reloads (medians)
0.84 to 1.00 s before, 0.78 to 1.29 s after; resident after the reloads 438 MB before, 368 MB
after. A publish into an empty folder (a new store, the entry cache warm), four interleaved
pairs: 17.8 to 18.1 s and 407 to 409 MB before, 16.2 to 20.7 s and 382 to 384 MB after (medians
17.9 and 18.0 s; profiled, the same work: no slower). That run's machine ran unchanged work at
about the targets' machine's pace (validate cold 4.8 s).

Slotted model types (issue 24, this run): an entry and what it holds, an occurrence, a
revision and a resolved date were frozen dataclasses whose fields Python kept in an inline
dict, 40 to 60 bytes an object more than slots; they are slotted now, and pickled as a call of
their constructor (`model.by_constructor`: pickle's own way with a slotted dataclass sets one
field at a time in Python). A content hash taken from the kept file holds the resolver's
resolved date rather than the copy read from the file, and `Hashes` is keyed by entry id
rather than by `id(entry)`. Side by side with the code of the run before (99dc7c1), `run`
starting on what publish left at 100,000 entries, four interleaved pairs: resident after the
start 371 to 372 MB before, 320 MB after; its peak 406 to 407 MB, 349 to 350 MB; the start
2.78 to 3.22 s, 2.73 to 3.05 s. Publish into an empty folder with a new store and no run kept,
three interleaved pairs: 16.3 to 20.4 s and 382 to 385 MB before, 16.8 to 20.4 s and 341 to
345 MB after; validate cold (timed runs, four pairs) 0.93x the time, 178 MiB against 203 (the
process itself; the tree's peak is the row below). And a run that finds more than half the
entries revised since the last one (a new store, a new public URL, a declared title every
entry shows) now lets the last run go and spools its events as a first run does, where it
held every event's bytes: publish with a new store into an empty folder, the run kept there,
863 MB before, 341 MB after. This run's machine (AMD EPYC) ran validate cold at 5.5 s, a
little slower than the run before's 4.8 s, and publish faster: compare ratios, or the figures
side by side above. Then a run taken up from disk came to hold the process's own string of
each entry id (the revisions' keys, the register's) rather than the copy its file gave each
event and entry: side by side with the code before it (3a41e5e), four interleaved pairs,
resident after the start 320 MB before, 298 to 299 MB after; the start 2.43 to 2.76 s,
2.14 to 2.75 s. This section was measured again after that change, alone.

Keeping a first publish's run (issue 24, this run): a first publish peaked while it kept its
run for the next process, and while it spooled its events. The spool now sorts the occurrences
themselves, a part of the key at a time, rather than holding a key tuple and a place for each
(and a tuple key for the sort); the run is kept as columns (its entries' ids, revisions'
fields, horizons, areas and actors), each feed's places among its events found a feed at a
time rather than from a table of every event's place, and its arrays pickled straight from
their items; and a run no longer holds a dict of its revisions beside its entries (`_touched`
makes it when it needs it: 56 ms a run at 100,000 entries, profiled, against 28 ms to
compare them before, about 3% of a reload). Side by side with the code of the
run before (a6e6023) at 100,000 entries: publish into an empty folder with a new store and the
entry cache warm (the "publish" row), timed runs, four interleaved pairs, 23.5 s and 334.7 MiB
before, 19.5 s and 285.8 MiB after (medians; the largest process); `run` starting on what
publish left, three interleaved pairs, resident after the start 298.0 to 299.2 MB before,
297.3 to 297.5 MB after, its peak 352 to 353 MB before, 335 to 338 MB after. This run's
machine was about 1.7 times slower than the last run's for work that did not change
(validate cold 7.3 s against 4.1 s): compare ratios, or the figures side by side above.
After these rows were measured, each feed's places came to be found by its events' identity,
with no int made for each event: keeping the run at 100,000 entries took 0.85 s before and
0.59 s after, in one process each, with the same peak.

Made directly, read back in C (issue 24, this run): the model's types held in bulk (an entry
and its parts, an occurrence, a revision, a resolved date) set each slot through its own setter
when made (`model.held_in_bulk`, which replaces `model.by_constructor` and still pickles them
as a call of their constructor), and the entry cache, the date index and the half of a cold
read a forked process makes are unpickled by `register/pickles`' unpickler, which finds the
model's table in C; that half is pickled as the caches pickle (enum members by place, not by a
call of their enum). Side by side with the code of the run before (7d0ee09) at 100,000 entries:
publish into an empty folder with a new store (timed runs, three pairs) 20.8 s and 286.7 MiB
against 20.4 s and 285.9 MiB (making occurrences is little of it), from the run kept 0.88x the
time (three pairs); `validate` with no cache 0.97x (five pairs), through the entry cache 1.01x
(eight pairs); `run` starting on what publish left, three interleaved pairs: the start 3.8 to
4.8 s against 3.9 to 5.3 s, resident after the start 297.6 to 299.6 MB against 297.7 to 300.5
MB, the whole child's peak (with its seven reloads) 379 to 386 MB against 381 to 411 MB. The
300 MB target for `run` is met in these rows and in every run of this code side by side (297.6
to 299.8 MB in seven), by 0.2 to 2.4 MB; the old code read more twice in eight (300.5 and 303.0
MB). This machine ran unchanged work a little faster than the last run's in this section
(validate cold 6.2 s against 7.3 s) and slower in "listing": compare ratios.

A new day (issue 24, this run): the horizon moves on a day each day, and every series entry
counted as changed, so every feed was assembled again event by event and written, though few
series have an occurrence in the day brought in (at 100,000 entries, none on most days). A
series whose dates up to the new horizon are as many as the last run's events now keeps those
events (its dates counted, not made into occurrences: those up to any horizon begin with those
up to a nearer one), and a feed none of whose entries changed is left as it is whatever the
horizon. Side by side with the code of the run before (5d16c20) at 100,000 entries, five
interleaved pairs, medians: `run` started the day after the run kept, 9.1 s before and 5.3 s
after; its daily republish (the row "daily republish") 5.3 s before, 1.8 s after; the child's
peak 346 and 344 MB. And a publish into a new store on a later day than the run kept (a new
store the day after a `run`) serialised every event into memory, since only a run on the day
of the run kept was spooled: 801 MB and 21.0 s before, 291 MB and 17.1 s after, one run each
(the row "publish into a new store, days after the run kept"). Measured then, the start the
day after read 7.1 s: it followed the seven edits of the reload rows, which the run kept on
disk did not have (a few edits do not keep it again), so it serialised those entries' events
again, wrote the feeds they are in and kept its run again, copying all.ics (see the next
paragraph). This run's machine was slower than the last run's for unchanged work (validate
cold 6.9 s against 6.2 s, publish 24.1 to 25.4 s against 21.9 s): compare ratios.

Kept at its end (issue 24, this run): a few edits under `run` do not keep its run in the cache
folder (that copies all.ics each time), so the next start found the feeds those edits wrote not
as the run kept left them, and assembled and compared them again. `run` now keeps its run as it
stops when it published since the one kept (`Runner.keep`, the row "its end after seven
edits"). Measured again after that change, alone: the start the day after, on what the seven
edits and the end left, 5.3 s rather than the 7.1 s of the run before it, which had no such
end; the start on what publish left 2.9 s (8.54 times the 10,000-entry start, 11.51 the run
before).

Where each series goes next (issue 24, this run): a new day still counted every series' dates
to know whether it brought one a new occurrence. A run now keeps, for each series it counted,
where its first occurrence past the horizon starts (by id, series only: a field of every
entry's part of a run made `run` hold 2 MB more), and a later horizon short of it is known to
bring nothing new. Side by side with the code before it (8d8588a) at 100,000 entries, four
interleaved pairs of the "run" children, medians: the daily republish 1.53 s before, 1.07 s
after; the start the day after 5.25 s and 4.44 s (the run it takes up had counted its
series); the start on what publish left 4.5 s both; resident after that start 296.8 MB
before, 297.9 MB after (297.2 to 298.2). Measured after this change, alone, on a machine faster
than in the two runs before for work that did not change (validate cold 4.7 s against 6.9 s),
the start on what publish left read 11.89 times the 10,000-entry start (8.54 the run before):
that start's growth swings around 10.

Feeds served (issue 24, this run): `serve` held each feed it sent, and its gzip, in memory for
as long as the file stayed the same, and at 100,000 entries the eleven feeds are 950 MB. A feed
over 4 MiB is now sent from the version of the file it opened, a mebibyte at a time, and its
gzip (the same bytes) from an unnamed temporary file, each digested and compressed once per
version (`web.server.Stored`). Side by side with the code before (41a1f18), one run each of
the "serve" child on the same folder at 100,000 entries: resident after the two rounds 1,175
MB before and 170 MB after, the process's peak 1,816 MB and 205 MB, the first round 13.5 s and
10.4 s, the second 2.8 s and 1.1 s. A feed of one's own selection was built again for every
request, from every occurrence of the register, with every entry hashed: `all.ics?area=firearms`
(53 MB) took 9.4 s each time. It now takes its occurrences from the date index `serve` keeps in
memory and the revisions of its own entries alone, writes its bytes to a file rather than to
memory, and is kept until the register, the store's revisions or the day change: its first
request 5.8 s (3.4 s once its entries' hashes were kept), the next 0.07 s. A selection of most
of the register (`kind=session`, 217 MB) peaked `serve` at 735 MB before and 367 MB after.
`/api/obligations` with no filter is every occurrence as JSON, 367 MB of it at 100,000 entries:
made whole (`json.dumps` with an indent builds the list of 311,000 objects and its own small
pieces of text), it took `serve` to a peak of 3.8 GB and 31 s; written 500 objects at a time
(`listing.json_pieces`), from occurrences made 500 at a time, 381 MB and 25 s, its first byte
after 3.6 s. `list --format json` with no filter, the same text: 3.8 GB and 29 s before, 390 MB
and 17 s after (one run each, the same bytes). And an API answer over 4 MiB hands back what
making it freed (`heap.trim`): `serve` resident after every occurrence as JSON, 285 MB before
and 252 MB after (one run each, from 220 MB).

Hashing (issue 24, this run): a first publish into a new store, `serve`'s first selection and
`run` after a new public URL hash every entry, and each entry's parts were made plain and
encoded as JSON anew, though a register reads equal parts as one object (the generated one has
3,480 distinct tuples of sources among 100,000 entries, one status, 18,390 dates). A pass over
the register now writes each shared part's text once and finds it by identity
(`revisions._Parts`, at most 20,000 a table), and an entry's payload text is joined from those
pieces: the same text, so the same digests, and no SEQUENCE moves (a test holds every entry of
the real, sample and generated registers to `revisions.payload` as `json` writes it). Hashing
the 100,000 entries in one process: 3.08 s before (at adb3764), 1.98 s after. Tried and
left: the event writer and the wording compiled with mypyc (installed with mypy) wrote the same
bytes at about 0.8 times the time, far from the 2.5 times a first publish within 8 s would
need; most of the time is in str and bytes methods that are C already. This section was
measured again at 9de2fb0's code, alone, on a machine faster for work that did not change than
the run before's (validate cold 4.2 s against 6.4 s): compare ratios, or the figures above.

JSON and one core (issue 24, this run): `/api/obligations` and `list --format json` lay out
every occurrence as `json.dumps(indent=2)` does, and the standard library lays out an indented
text in Python: most of the 19.0 s the API took at 100,000 entries in the run before. orjson
writes the same text (a test holds the two equal over any JSON values; a batch it refuses is
`json.dumps`'), and occurrences on one date object (the date index gives a day's rows one)
share their date's JSON object: the API row reads 7.2 s, and `list --format json` with no
filter took 7.8 s against 14.5 s, one run of each version on this machine, the same 367 MB. A
cold read keeps 52% of the entries and forks the rest, since the copy also pickles what it read
(validate cold 3.33 s against 3.51 s, six interleaved pairs), and forks no copy where the
process may run on one processor only (`register/forked`): there the copy ran by turns with the
reader (5.21 s against 5.71 s on one core, five pairs; the one-core row 6.6 s against 7.1 s the
run before, on an AMD EPYC machine: this one is an Intel Xeon). The first reload reads 1.6 s
and the next three 0.8 s (1.4 and 0.7 s the run before); in one process on this machine, three
edits took 0.72 to 0.73 s both before this session's changes and after them: flushing the three
files to disk varies from run to run, and a run at 3d6b19c an hour before this one read 1.7 and
1.1 s. The 10,000-entry rows came faster than the run before's, so some growths read above 10
(run's start 13.6, the API 11.8, a publish into a new store 11.3) where the 100,000-entry
figure is the same or better. This section was measured at 6a0f209's code, alone.

Floors (issue 24, this run). A publish and a reload write each feed whole and flush it to disk
before renaming it over the old one, since a feed half written when the machine stops is a
corrupt feed; the rows against "copied by the kernel and flushed to disk alone" measure that
with nothing else, for the same files, in the same run (`bench.measure.flushed_copies`). At
100,000 entries a publish takes 16.1 s against 2.1 s for its 950 MB of feeds: what stands
between it and the 8 s target is serialising 311,000 events, hashing 100,000 entries and the
rest of the Python. A reload takes 0.9 s against 0.52 s for its three files (0.8 s against
0.32 s in a run an hour before: flushing varies from run to run): the 0.5 s target is about
the disk's share alone here. The generated 100,000-entry register has 10.93 times the events
of the 10,000-entry one (8.0% of its entries are series, two thirds of them yearly, against
7.7% and 63%), so the work done per event grows by more than 10: a publish into a new store
10.93 times, the API (every occurrence as JSON) 13.7. What feed events say is now
`wording/events.py`, apart from what lists, pages and messages say (`wording/views.py`): this
version revises every entry once (SEQUENCE + 1), and no later change to a message's or a
page's wording revises any. Figures above the run before's (publish 16.1 s against 15.4, run's
start 3.0 s against 2.5, the API 9.3 s against 7.2) are this machine's pace: validate cold,
whose code this stop made faster, reads 4.7 s against 4.4, and `list --format json` with no
filter, the API's text, takes the same time with stop 40's code (6286338) as with this one
(three interleaved pairs, 1.00x). This section was measured at 37e30ea's code, alone.

Each event written into every feed as it is made (issue 24, this run). A first publish (no
run kept, or most entries revised since: a new store, a new public URL) serialised its events
into a spool in the feeds folder, and each feed then read its events back from it: at 100,000
entries 320 MB written once more and 950 MB read back, sliced and joined in Python. Each event
is now written as it is made into a draft of every feed it is in (`files.drafts`), each
replacing its feed once written when its bytes changed. Side by side with stop 41's code
(97e3600), interleaved, at 100,000 entries with the entry cache warm: a first publish into an
empty folder and a new store, four pairs, 15.4 s against 17.2 s (0.89x), its system time 0.7 s
against 2.5 s, the same peak (288.5 and 287.8 MiB); a publish into a new store on another day
than the run kept's (every entry revised), four pairs, 15.8 s against 16.8 s (0.94x). What is
left of a first publish is Python's (its user time, 14 s of the 15.4, is the same with both),
profiled in one run: serialising 311,000 events 6.5 s, hashing 100,000 entries 2.3 s, expanding
and sorting the occurrences 1.4 s, keeping the run for the next process 1.2 s, writing 100,000
revisions into the store 0.8 s. The machine's pace varied within and between runs: three runs
of this section within the hour read a first publish 15.9, 17.1 and 15.4 s, and a publish into
a new store days after the run kept 23.4, 15.9 and 15.2 s (the table is the third); a first
publish run alone between the first two took 23 s. Compare ratios, or the figures side by side.

Growth above 10 (issue 24, this run): `run`'s start on what publish left read 13.7 times the
10,000-entry start (0.2 s and 3.0 s). Profiled phase by phase, one run of each size: reading
the register 0.11 s and 1.17 s (11x), taking up the run kept 0.07 s and 0.96 s (14x), syncing
the store 0.04 s and 0.69 s (17x). None does more than linear work: each makes or reaches
hundreds of thousands of small objects, which at 100,000 entries no longer fit in the
processor's caches (an object not in them costs about half a microsecond to reach), where at
10,000 most do. So with the API, every occurrence as JSON (12.5 times): making each
occurrence's JSON object takes 18.8 times as long for 11 times the occurrences. This section
was measured at c8b3df5's code (the second run, at 7f09194's, read that start 13.7 times
and the API 12.5; this one 11.6 and 10.3).

This run (2b9a924's code, issue 24) is on another machine, an AMD EPYC, whose disk flushed more
slowly: a publish's feeds copied by the kernel and flushed alone took 3.1 s against 0.7 s the
run before, and a reload's three files 0.7 s against 0.3 s. So figures that flush feeds read
higher: publish 19.1 s (15.4 s the run before), a reload 1.0 s (0.9 s). Validate cold reads
6.7 s (5.3 s), though the "listing" section's validate with no cache, in the same run, reads
1.18x the floor of composing the entries (1.22x the run before): this run's pace.
Side by side with stop 42's code (6568f87), interleaved, at 100,000 entries with the entry
cache warm, a first publish into an empty folder and a new store takes 0.90x the time (three
pairs, 14.4 s against 15.6 s, the same 288 MiB peak; its system time 1.9 s against 3.1 s: a
temporary file is now made by `open()` with `os.open` as its opener, da8d54b), though this
stop changed how a series is expanded (29cd7ac) and what an entry's content hash holds
(d4afeac, a digest of timeline.py once per pass). Growth above 10: `run`'s start on what
publish left 14.2 (0.2 s and 3.4 s; 11.6 the run before), the API 12.6 (10.3).
"""

from __future__ import annotations

import itertools
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.generate import register_text
from bench.measure import TOOL, flushed_copies, launch

if TYPE_CHECKING:
    from calendar_tool.clock import FixedClock
    from calendar_tool.scheduler import Runner

ROOT = Path(__file__).resolve().parent.parent
SIZES = (1_000, 10_000, 100_000)
SUBSCRIPTIONS = (100, 1_000, 10_000)


def _measure(cmd: Sequence[str], env: dict[str, str] | None = None, one_core: bool = False
             ) -> tuple[float, float, str]:
    """Wall seconds, peak resident megabytes (of the process and the copies it forks,
    together: not the editor the reload starts) and output of one process; with `one_core`,
    on the first core only (`taskset -c 0`)."""
    got = launch(cmd, env, one_core=one_core, own=True)
    return got.wall, got.peak, got.output


def one_title_edited(text: str) -> str:
    """The register with one dated entry's title changed, from the middle of the file."""
    middle = text.index("  - id: ", len(text) // 2)
    found = re.compile(r"    title: (Generated commitment number \d+)(.*)\n    kind: target\n")
    m = found.search(text, middle)
    assert m is not None, "no target entry after the middle of the register"
    return text[:m.start(1)] + m.group(1) + " (edited)" + text[m.end(1):]


def one_status_recorded(text: str) -> str:
    """The register with a status recorded on one more deadline from the middle of the file
    on (one that has none yet): a keeper's most common edit, which makes the entry a line
    longer."""
    at = text.index("  - id: ", len(text) // 2)
    while True:
        start = text.index("  - id: ", at)
        end = text.index("\n  - id: ", start + 1) + 1
        chunk = text[start:end]
        if "    kind: deadline\n" in chunk and "    status:" not in chunk:
            return text[:end] + "    status: {state: met, date: 2004-05-01}\n" + text[end:]
        at = end


def edit(path: Path, how: str = "edit") -> None:
    """Edit the register as an editor would (`how`: "edit", a title; "status", a status
    recorded): in another process, so that the text read and written does not count in the
    peak memory of the process measured."""
    subprocess.run([sys.executable, "-m", "bench.scale", how, str(path)], cwd=ROOT, check=True)


def _runner(register: str, work: str, days: int = 0) -> tuple[Runner, FixedClock]:
    """`run`'s Runner on the store and the feeds folder `publish` left in `work`, as `run`
    starts after it (or after an earlier `run`): the revisions, the feeds and the run kept in
    the cache folder are taken up, the register read as `calendar-tool run` reads it (with
    the entries the cache kept). Its clock `days` after now."""
    from datetime import UTC, datetime

    from calendar_tool import delivery, heap, store
    from calendar_tool.clock import FixedClock
    from calendar_tool.config import Settings
    from calendar_tool.register import RegisterFile
    from calendar_tool.scheduler import Options, Runner

    engine = store.open_store(f"sqlite:///{work}/publish.db")
    clock = FixedClock(datetime.now(UTC) + timedelta(days=days))
    source = RegisterFile(Path(register), Settings.from_env().cache, reading=heap.kept)
    return Runner(engine, delivery.Senders(), clock, source,
                  Options(Path(work) / "feeds", "http://127.0.0.1:8000", watch=None)), clock


def reload_child(register: str, work: str) -> None:
    """In a child process: start `run`'s Runner on the register, edit one entry, time the
    reload, and print what it cost and which feed files it rewrote."""
    # On the day `publish` took, so that the horizon is the same.
    runner, _ = _runner(register, work)
    path, out = Path(register), Path(work) / "feeds"
    start = time.perf_counter()
    runner.start()
    started = time.perf_counter() - start
    resident = {"start": _resident_mb()}
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    edit(path)
    start = time.perf_counter()
    assert runner.reload()
    reloaded = time.perf_counter() - start
    rewritten = sorted(p.name for p in out.iterdir() if before.get(p.name) != p.stat().st_mtime_ns)
    # The first edit after the start costs more than the ones after it (the process grows
    # to hold a second version of the register while it reads it): both are reported.
    later = []
    for _ in range(3):
        edit(path)
        start = time.perf_counter()
        assert runner.reload()
        later.append(time.perf_counter() - start)
    resident["reloads"] = _resident_mb()
    # What replacing those files costs at the least: their bytes copied and flushed.
    floor = statistics.median(flushed_copies([out / name for name in rewritten])
                              for _ in range(3))
    recorded = []
    for _ in range(3):
        edit(path, "status")
        start = time.perf_counter()
        assert runner.reload()
        recorded.append(time.perf_counter() - start)
    # As `run` ends (`Scheduler.stop`): its run kept for the next start, the edits since
    # being too few to have kept it.
    start = time.perf_counter()
    runner.keep()
    ended = time.perf_counter() - start
    print(json.dumps({"start": started, "reload": reloaded, "rewritten": rewritten,  # noqa: T201
                      "feeds": len(before), "later": statistics.median(later), "floor": floor,
                      "status": statistics.median(recorded), "resident": resident,
                      "end": ended}))


def later_child(register: str, work: str) -> None:
    """In a child process: start `run`'s Runner the day after the runs kept (its horizon a
    day further: a restart after a night, say), then let three days pass (`run`'s daily
    republish, `Runner.refresh`), and print what each cost."""
    runner, clock = _runner(register, work, days=1)
    start = time.perf_counter()
    runner.start()
    started = time.perf_counter() - start
    daily = []
    for _ in range(3):
        clock.advance_to(clock.now() + timedelta(days=1))
        start = time.perf_counter()
        runner.refresh()
        daily.append(time.perf_counter() - start)
    print(json.dumps({"start": started, "daily": statistics.median(daily)}))  # noqa: T201


# A feed of one's own selection that `serve` builds: a sixth of the generated register.
SELECTION = "area=firearms"


def serve_child(register: str, work: str) -> None:
    """In a child process: `serve` over the feeds folder and store `publish` left, every feed
    fetched whole, identity then gzip, twice (the first time each version is read, digested
    and compressed), then a selection twice (built, then as kept), then every occurrence as
    JSON; print what each took and what the process held."""
    from datetime import UTC, datetime

    import httpx

    from calendar_tool.clock import FixedClock
    from calendar_tool.web import server

    feeds = Path(work) / "feeds"
    app = server.make_app(register=Path(register), feeds=feeds, db=f"sqlite:///{work}/publish.db",
                          clock=FixedClock(datetime.now(UTC)))
    names = [f["path"] for f in json.loads((feeds / "index.json").read_text())["feeds"]]
    with server.BackgroundServer(app) as running, \
            httpx.Client(base_url=running.url, timeout=600) as client:
        assert client.get("/healthz").status_code == 200  # the register read
        resident = {"start": _resident_mb()}

        def fetched(*asked: tuple[str, str]) -> float:
            """How long the answers to `asked` (path, Accept-Encoding) took, each read whole
            and dropped a piece at a time: what the client holds does not count."""
            start = time.perf_counter()
            for path, encoding in asked:
                with client.stream("GET", path, headers={"Accept-Encoding": encoding}) as r:
                    assert r.status_code == 200
                    for _ in r.iter_raw():
                        pass
            return time.perf_counter() - start

        every = [(f"/feeds/{name}", encoding)
                 for name, encoding in itertools.product(names, ("identity", "gzip"))]
        rounds = [fetched(*every) for _ in range(2)]
        # Built, then as kept.
        selections = [fetched((f"/feeds/all.ics?{SELECTION}", "gzip")) for _ in range(2)]
        listed = fetched(("/api/obligations", "gzip"))  # every occurrence, as JSON
        resident["served"] = _resident_mb()
    print(json.dumps({"first": rounds[0], "again": rounds[1], "feeds": len(names),  # noqa: T201
                      "selection": selections[0], "selection again": selections[1],
                      "api": listed, "resident": resident}))


def _resident_mb() -> float:
    """This process's resident size now, in megabytes: what `run` holds while it waits,
    rather than its peak while it publishes."""
    with open("/proc/self/status") as f:
        kilobytes = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    return kilobytes / 1024


def _resident_rows(report: dict[str, Any], size: int, got: dict[str, tuple[float, float]],
                   before: dict[str, tuple[float, float]]) -> list[dict[str, object]]:
    """`run`'s resident size after its start and after the four reloads, and `serve`'s after
    sending every feed twice, a selection twice and every occurrence as JSON, beside the same
    on the register ten times smaller; and `run`'s per entry."""
    rows = []
    for when, key in (("start", "run: resident after its start"),
                      ("reloads", "run: resident after four reloads"),
                      ("served", "serve: resident after the feeds, a selection and the API")):
        got[key] = (report["resident"][when], report["resident"][when])
        base = before.get(key)
        rows.append(_row(f"{key}, {size:,} entries", got[key][1], "MB",
                         f"same, {size // 10:,} entries" if base else "(smallest size)",
                         base[1] if base else None))
    rows.append(_row(f"run: resident after four reloads, per entry, {size:,} entries",
                     got["run: resident after four reloads"][1] * 1024 / size, "KB",
                     "(the row above over the entries)", None))
    return rows


def remind_child(register: str) -> None:
    """In a child process: the reminder computation of `run` for 100 to 10,000
    subscriptions (bench/remind.py), printed as JSON."""
    from bench.remind import reminder_seconds, subscriptions
    from tests.registers import load_register

    reg = load_register(Path(register))
    print(json.dumps({str(n): reminder_seconds(reg, subscriptions(n, reg))  # noqa: T201
                      for n in SUBSCRIPTIONS}))


def _row(name: str, figure: float, unit: str, baseline: str, base: float | None
         ) -> dict[str, object]:
    return {"name": name, "figure": figure, "unit": unit, "baseline": baseline,
            "baseline_figure": base, "ratio": figure / base if base else 1.0}


def run() -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    before: dict[str, tuple[float, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for size in SIZES:
            work = Path(tmp) / str(size)
            work.mkdir()
            got: dict[str, tuple[float, float]] = {}
            rows += _size_rows(size, work, got, before)
            before = got
            print(f"scale: {size:,} entries done", file=sys.stderr)  # noqa: T201
    return rows


def _size_rows(size: int, work: Path, got: dict[str, tuple[float, float]],
               before: dict[str, tuple[float, float]]) -> list[dict[str, object]]:
    """The rows of one size, measured in `work`; what each took goes into `got`, beside
    `before`, the same on the register ten times smaller."""
    reg = work / "obligations.yaml"
    reg.write_text(register_text(size))
    env = {"CALENDAR_TOOL_REGISTER": str(reg),
           "CALENDAR_TOOL_DB": f"sqlite:///{work}/publish.db",
           # An entry cache of its own, empty: validate is measured cold, then as an
           # admin runs it after editing one entry, then list.
           "CALENDAR_TOOL_CACHE": str(work / "cache")}
    got["validate, cold"] = _measure([*TOOL, "validate"], env)[:2]
    # The copy a cold read forks has no second core to run on here: what it buys is gone.
    got["validate, cold, one core (taskset -c 0)"] = _measure(
        [*TOOL, "validate"], {**env, "CALENDAR_TOOL_CACHE": str(work / "cache-one-core")},
        one_core=True)[:2]
    reg.write_text(one_title_edited(reg.read_text()))
    got["validate after a one-entry edit"] = _measure([*TOOL, "validate"], env)[:2]
    got["list --due 2005"] = _measure([*TOOL, "list", "--due", "2005"], env)[:2]
    got["publish"] = _measure([*TOOL, "publish", "--out", str(work / "feeds")], env)[:2]
    floor = flushed_copies(sorted((work / "feeds").glob("*.ics")))
    got["publish again, nothing changed"] = \
        _measure([*TOOL, "publish", "--out", str(work / "feeds")], env)[:2]
    got["publish into an empty folder, from the run kept"] = \
        _measure([*TOOL, "publish", "--out", str(work / "other")], env)[:2]
    report, later = _run_children(reg, work, env, got)
    report["resident"]["served"] = _served(reg, work, env, got)
    smaller = f"same, {size // 10:,} entries"
    rows = []
    for what, (seconds, mb) in list(got.items()):
        base = before.get(what)
        rows.append(_row(f"{what}, {size:,} entries", seconds, "s", smaller if base
                         else "(smallest size)", base[0] if base else None))
        rows.append(_row(f"peak memory, {what}, {size:,} entries", mb, "MB",
                         smaller if base else "(smallest size)",
                         base[1] if base else None))
    rows += _reminder_rows(reg, size, got, before)
    rows.append(_row(f"publish, {size:,} entries", got["publish"][0], "s",
                     "its feeds copied by the kernel and flushed to disk alone", floor))
    rows.append(_row(f"run: one-entry reload, {size:,} entries "
                     f"({len(report['rewritten'])} of {report['feeds']} files rewritten: "
                     f"{', '.join(report['rewritten'])})", report["reload"], "s",
                     "full publish, same register", got["publish"][0]))
    rows.append(_row(f"run: one-entry reload, the next three edits (median), "
                     f"{size:,} entries", report["later"], "s",
                     "full publish, same register", got["publish"][0]))
    rows.append(_row(f"run: one-entry reload, the next three edits (median), "
                     f"{size:,} entries", report["later"], "s", "the files it rewrites copied "
                     "by the kernel and flushed to disk alone (median of three)",
                     report["floor"]))
    rows.append(_row(f"run: one-entry reload, a status recorded (median of three), "
                     f"{size:,} entries", report["status"], "s",
                     "full publish, same register", got["publish"][0]))
    rows.append(_row(f"run: its end after seven edits, keeping its run, {size:,} entries",
                     report["end"], "s", "full publish, same register", got["publish"][0]))
    rows.append(_row(f"run: daily republish, the horizon a day further (median of three), "
                     f"{size:,} entries", later["daily"], "s",
                     "full publish, same register", got["publish"][0]))
    return rows + _resident_rows(report, size, got, before)


def _run_children(reg: Path, work: Path, env: dict[str, str],
                  got: dict[str, tuple[float, float]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """`run` on what `publish` left (`reload_child`), then the day after (`later_child`),
    then a publish into a new store days later; what each child reported."""
    _, peak, text = _measure([sys.executable, "-m", "bench.scale", "reload", str(reg),
                              str(work)], env)
    report = json.loads(text.strip().splitlines()[-1])
    got["run: start on what publish left"] = (report["start"], peak)
    _, peak, text = _measure([sys.executable, "-m", "bench.scale", "later", str(reg),
                              str(work)], env)
    later = json.loads(text.strip().splitlines()[-1])
    got["run: start the day after, on what run left"] = (later["start"], peak)
    # A new store (every entry revised) on a later day than the run kept: its events are
    # written straight into the feeds as a first publish's are, not held.
    got["publish into a new store, days after the run kept"] = _measure(
        [*TOOL, "publish", "--out", str(work / "renewed"), "--today",
         (date.today() + timedelta(days=10)).isoformat()],
        {**env, "CALENDAR_TOOL_DB": f"sqlite:///{work}/renewed.db"})[:2]
    return report, later


def _served(reg: Path, work: Path, env: dict[str, str],
            got: dict[str, tuple[float, float]]) -> float:
    """`serve` over what `publish` left (`serve_child`): its two rounds into `got`; what
    it holds after them."""
    _, peak, text = _measure([sys.executable, "-m", "bench.scale", "serve", str(reg),
                              str(work)], env)
    report = json.loads(text.strip().splitlines()[-1])
    got["serve: every feed fetched, identity and gzip, the first time"] = \
        (report["first"], peak)
    got["serve: every feed fetched again"] = (report["again"], peak)
    got[f"serve: a selection ({SELECTION}), its first request"] = (report["selection"], peak)
    got["serve: the same selection asked again"] = (report["selection again"], peak)
    got["serve: /api/obligations with no filter (every occurrence, as JSON)"] = \
        (report["api"], peak)
    resident: float = report["resident"]["served"]
    return resident


def _reminder_rows(reg: Path, size: int, got: dict[str, tuple[float, float]],
                   before: dict[str, tuple[float, float]]) -> list[dict[str, object]]:
    """What `run` computes for 100 to 10,000 subscriptions (bench/remind.py), in a process
    of its own."""
    _, peak, text = _measure([sys.executable, "-m", "bench.scale", "remind", str(reg)])
    reminded = json.loads(text.strip().splitlines()[-1])
    smaller = f"same, {size // 10:,} entries"
    rows = []
    for n in SUBSCRIPTIONS:
        r = reminded[str(n)]
        for what, label in (("plan", "plan the next 2 h"),
                            ("enqueue", "due in the 24 h catch-up window")):
            key = f"reminders, {label}, {n:,} subscriptions"
            got[key] = (r[what], peak)
            base = before.get(key)
            count = int(r[f"{what}_reminders"])
            rows.append(_row(f"{key} ({count:,} reminders), {size:,} entries", r[what],
                             "s", smaller if base else "(smallest size)",
                             base[0] if base else None))
    rows.append(_row(f"reminders: expanding the register once, {size:,} entries",
                     reminded[str(SUBSCRIPTIONS[0])]["expand"], "s",
                     "full publish, same register", got["publish"][0]))
    rows.append(_row(f"peak memory, reminders for 10,000 subscriptions, {size:,} entries",
                     peak, "MB", "peak memory, validate, same register",
                     got["validate, cold"][1]))
    return rows


if __name__ == "__main__":
    if sys.argv[1:2] == ["reload"]:
        reload_child(sys.argv[2], sys.argv[3])
    elif sys.argv[1:2] == ["later"]:
        later_child(sys.argv[2], sys.argv[3])
    elif sys.argv[1:2] == ["serve"]:
        serve_child(sys.argv[2], sys.argv[3])
    elif sys.argv[1:2] == ["edit"]:
        edited = Path(sys.argv[2])
        edited.write_text(one_title_edited(edited.read_text()))
    elif sys.argv[1:2] == ["status"]:
        edited = Path(sys.argv[2])
        edited.write_text(one_status_recorded(edited.read_text()))
    elif sys.argv[1:2] == ["remind"]:
        remind_child(sys.argv[2])
    else:
        for r in run():
            print(r)  # noqa: T201
