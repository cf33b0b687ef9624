import de.bwaldvogel.mongo.MongoBackend;
import de.bwaldvogel.mongo.backend.Cursor;
import de.bwaldvogel.mongo.backend.CursorRegistry;
import de.bwaldvogel.mongo.backend.Utils;
import de.bwaldvogel.mongo.backend.aggregation.Aggregation;
import de.bwaldvogel.mongo.bson.BsonTimestamp;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.exception.MongoServerError;
import de.bwaldvogel.mongo.oplog.Oplog;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The server's oplog, kept as a list of ready-made change events (MongoDB's shape: `ns`,
 * `documentKey`, `updateDescription`, `fullDocument` on insert/replace), numbered in write order.
 *
 * Why not the stock `CollectionBackedOplog`: its update events carry the raw update instead of an
 * `updateDescription`, have no `ns`, report replacements as updates, and every getMore re-reads
 * and sorts the whole history. Here an event's number is its index, so a cursor reads only what
 * was written after its position. Updates are reported by the collections themselves
 * ({@link ObservedMemoryCollection}), which see the document before and after (and also the
 * findAndModify writes that never reach {@link #handleUpdate}).
 *
 * Like MongoDB's capped oplog, only the last {@link #RETAINED} events are kept; resuming from an
 * older token (or a token from another server process) fails with ChangeStreamHistoryLost.
 */
final class ChangeEventLog implements Oplog {
    static final int RETAINED = 200_000;

    record Entry(long seq, String namespace, BsonTimestamp clusterTime, Instant wallTime, Document event) {}

    private final MongoBackend backend;
    private final CursorRegistry cursors;
    private final Clock clock;
    /** Tokens name the server process, so a token from an earlier (emptied) server is refused, not misread. */
    private final String serverId = String.format("%08x", ThreadLocalRandom.current().nextInt());
    private final ArrayList<Entry> entries = new ArrayList<>();
    private long firstSeq = 1; // seq of entries.get(0)
    private long lastSeq = 0;
    private List<Runnable> waiters = new ArrayList<>();

    ChangeEventLog(MongoBackend backend, CursorRegistry cursors, Clock clock) {
        this.backend = backend;
        this.cursors = cursors;
        this.clock = clock;
    }

    MongoBackend backend() {
        return backend;
    }

    // ---- writes -------------------------------------------------------------------------------

    /**
     * Called by the database after an insert has returned and released the collection: too late to
     * copy the document (a claim may be updating it on another thread, and its update event would
     * come first). Inserts are reported by {@link ObservedMemoryCollection#addDocument} instead.
     */
    @Override
    public void handleInsert(String namespace, List<Document> documents) {}

    /** An insert, reported under the collection's lock as it happens: the document as inserted, in write order. */
    void recordInsert(String namespace, Document document) {
        record(namespace, new Document("operationType", "insert")
            .append("fullDocument", document.cloneDeeply())
            .append("documentKey", new Document("_id", UpdateDescriptions.copy(document.get("_id")))));
    }

    /** Reported by {@link ObservedMemoryCollection#handleUpdate}, which knows the document before and after. */
    @Override
    public void handleUpdate(String namespace, Document selector, Document query, List<Object> modifiedIds) {}

    void recordUpdate(String namespace, Object update, Document before, Document after) {
        Document key = new Document("_id", UpdateDescriptions.copy(after.get("_id")));
        if (UpdateDescriptions.isReplacement(update)) {
            record(namespace, new Document("operationType", "replace").append("fullDocument", after.cloneDeeply()).append("documentKey", key));
        } else {
            record(namespace, new Document("operationType", "update")
                .append("documentKey", key)
                .append("updateDescription", UpdateDescriptions.describe(update, before, after)));
        }
    }

    @Override
    public void handleDelete(String namespace, Document query, List<Object> deletedIds) {
        for (Object id : deletedIds) {
            record(namespace, new Document("operationType", "delete").append("documentKey", new Document("_id", UpdateDescriptions.copy(id))));
        }
    }

    @Override
    public void handleDropCollection(String namespace) {
        record(namespace, new Document("operationType", "drop"));
    }

    private void record(String namespace, Document event) {
        if (namespace.startsWith("local.") || namespace.startsWith("admin.") || namespace.startsWith("config.")) return;
        List<Runnable> woken;
        synchronized (this) {
            lastSeq++;
            Instant now = clock.instant();
            entries.add(new Entry(lastSeq, namespace, new BsonTimestamp(now, (int) lastSeq), now, event));
            if (entries.size() > RETAINED + RETAINED / 4) {
                int drop = entries.size() - RETAINED;
                entries.subList(0, drop).clear();
                firstSeq += drop;
            }
            woken = waiters;
            waiters = new ArrayList<>();
        }
        woken.forEach(Runnable::run);
    }

    // ---- reads --------------------------------------------------------------------------------

    /** Runs `waiter` once, after the next write (or at once if something was written after `seq`). */
    void awaitWriteAfter(long seq, Runnable waiter) {
        synchronized (this) {
            if (lastSeq <= seq) {
                waiters.add(waiter);
                return;
            }
        }
        waiter.run();
    }

    synchronized long lastSeq() {
        return lastSeq;
    }

    /** The events after `seq`, in order (a copy, so readers never hold the log's lock while they work). */
    synchronized List<Entry> after(long seq) {
        if (seq < firstSeq - 1) throw historyLost();
        int from = (int) (seq - firstSeq + 1);
        if (from >= entries.size()) return List.of();
        return new ArrayList<>(entries.subList(from, entries.size()));
    }

    synchronized Entry at(long seq) {
        if (seq < firstSeq || seq > lastSeq) return null;
        return entries.get((int) (seq - firstSeq));
    }

    @Override
    public Cursor createCursor(Document changeStream, String namespace, Aggregation aggregation) {
        Document startAfter = (Document) changeStream.get("startAfter");
        Document resumeAfter = (Document) changeStream.get("resumeAfter");
        BsonTimestamp startAtOperationTime = (BsonTimestamp) changeStream.get("startAtOperationTime");
        boolean lookup = "updateLookup".equals(changeStream.get("fullDocument"));
        long position;
        if (startAfter != null || resumeAfter != null) {
            ResumeToken token = parse(startAfter != null ? startAfter : resumeAfter);
            if (token.invalidate() && startAfter == null) {
                throw new MongoServerError(260, "InvalidResumeToken",
                    "cannot resume a change stream after an invalidate event: use startAfter to start a new stream");
            }
            synchronized (this) {
                if (token.seq() < firstSeq - 1 || token.seq() > lastSeq) throw historyLost();
            }
            position = token.seq();
            Entry resumed = at(position);
            // Resuming just after this collection's drop (resumeAfter the drop event) yields the invalidate at once.
            if (!token.invalidate() && resumed != null && resumed.namespace().equals(namespace)
                && "drop".equals(resumed.event().get("operationType"))) {
                ChangeStreamCursor cursor = new ChangeStreamCursor(cursors.generateCursorId(), this, namespace, aggregation, lookup, position);
                cursor.invalidateAt(resumed);
                cursors.add(cursor);
                return cursor;
            }
        } else if (startAtOperationTime != null) {
            position = firstSeqAtOrAfter(startAtOperationTime) - 1;
        } else {
            position = lastSeq();
        }
        ChangeStreamCursor cursor = new ChangeStreamCursor(cursors.generateCursorId(), this, namespace, aggregation, lookup, position);
        cursors.add(cursor);
        return cursor;
    }

    private synchronized long firstSeqAtOrAfter(BsonTimestamp time) {
        for (Entry entry : entries) {
            if (entry.clusterTime().compareTo(time) >= 0) return entry.seq();
        }
        return lastSeq + 1;
    }

    // ---- resume tokens ------------------------------------------------------------------------

    record ResumeToken(long seq, boolean invalidate) {}

    /** `_data` is opaque to clients (as on MongoDB): server id, event number, and whether it is an invalidate. */
    Document token(long seq, boolean invalidate) {
        return new Document("_data", serverId + String.format("%016x", seq) + (invalidate ? "01" : "00"));
    }

    private ResumeToken parse(Document token) {
        Object data = token.get("_data");
        if (!(data instanceof String text) || text.length() != 26) {
            throw new MongoServerError(260, "InvalidResumeToken", "invalid resume token: " + token);
        }
        if (!text.startsWith(serverId)) throw historyLost();
        try {
            return new ResumeToken(Long.parseLong(text.substring(8, 24), 16), text.endsWith("01"));
        } catch (NumberFormatException e) {
            throw new MongoServerError(260, "InvalidResumeToken", "invalid resume token: " + token);
        }
    }

    private static MongoServerError historyLost() {
        return new MongoServerError(286, "ChangeStreamHistoryLost",
            "Resume of change stream was not possible, as the resume point may no longer be in the oplog.");
    }

    static Document namespaceDocument(String namespace) {
        return new Document("db", Utils.getDatabaseNameFromFullName(namespace)).append("coll", Utils.getCollectionNameFromFullName(namespace));
    }
}
