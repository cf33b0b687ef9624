import de.bwaldvogel.mongo.MongoCollection;
import de.bwaldvogel.mongo.MongoDatabase;
import de.bwaldvogel.mongo.backend.AbstractCursor;
import de.bwaldvogel.mongo.backend.Utils;
import de.bwaldvogel.mongo.backend.aggregation.Aggregation;
import de.bwaldvogel.mongo.bson.Document;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

/**
 * One change stream on one collection: reads the events written after its position, runs the
 * client's pipeline over them, and remembers how far it has read, so a getMore costs the events
 * written since the last one (not the whole history) and the post-batch resume token moves past
 * events the client's `$match` filtered out, as on MongoDB.
 *
 * After its collection is dropped it returns the `drop` event (if the pipeline keeps it) and
 * then an `invalidate`, which no pipeline filters, and closes.
 */
final class ChangeStreamCursor extends AbstractCursor {
    private final ChangeEventLog log;
    private final String namespace;
    private final Aggregation pipeline;
    private final boolean updateLookup;
    private final ArrayDeque<Document> ready = new ArrayDeque<>();
    private long position; // the last event read
    private Document lastReturnedToken;
    private boolean invalidated; // the invalidate is queued or returned: nothing more will follow

    ChangeStreamCursor(long id, ChangeEventLog log, String namespace, Aggregation pipeline, boolean updateLookup, long position) {
        super(id);
        this.log = log;
        this.namespace = namespace;
        this.pipeline = pipeline;
        this.updateLookup = updateLookup;
        this.position = position;
    }

    synchronized void invalidateAt(ChangeEventLog.Entry drop) {
        ready.add(invalidateEvent(drop));
        invalidated = true;
    }

    @Override
    public synchronized boolean isEmpty() {
        return invalidated && ready.isEmpty();
    }

    /** Whether a getMore now would return something (reads what was written meanwhile). */
    synchronized boolean hasResults() {
        read();
        return !ready.isEmpty();
    }

    synchronized long position() {
        return position;
    }

    @Override
    public synchronized List<Document> takeDocuments(int numberToReturn) {
        read();
        List<Document> batch = new ArrayList<>();
        while (!ready.isEmpty() && (numberToReturn <= 0 || batch.size() < numberToReturn)) batch.add(ready.poll());
        if (!batch.isEmpty()) lastReturnedToken = (Document) batch.get(batch.size() - 1).get("_id");
        return batch;
    }

    /**
     * The token a client resumes from when the batch was empty or ended the stream's backlog: the
     * last event read (filtered or not) if everything read was returned, else the last returned.
     */
    synchronized Document postBatchResumeToken() {
        if (ready.isEmpty() && !invalidated) return log.token(position, false);
        return lastReturnedToken != null ? lastReturnedToken : log.token(position, false);
    }

    private void read() {
        if (invalidated) return;
        List<ChangeEventLog.Entry> entries = log.after(position);
        List<Document> events = new ArrayList<>();
        for (ChangeEventLog.Entry entry : entries) {
            position = entry.seq();
            if (!entry.namespace().equals(namespace)) continue;
            events.add(toChangeEvent(entry));
            if ("drop".equals(entry.event().get("operationType"))) {
                ready.addAll(runPipeline(events));
                invalidateAt(entry);
                return;
            }
        }
        ready.addAll(runPipeline(events));
    }

    private List<Document> runPipeline(List<Document> events) {
        if (events.isEmpty()) return List.of();
        return pipeline.runStagesAsStream(events.stream()).collect(Collectors.toList());
    }

    private Document toChangeEvent(ChangeEventLog.Entry entry) {
        Document stored = entry.event();
        String operationType = (String) stored.get("operationType");
        Document event = new Document("_id", log.token(entry.seq(), false))
            .append("operationType", operationType)
            .append("clusterTime", entry.clusterTime())
            .append("wallTime", entry.wallTime());
        if (stored.containsKey("fullDocument")) {
            event.append("fullDocument", stored.get("fullDocument") == null ? null : ((Document) stored.get("fullDocument")).cloneDeeply());
        } else if (updateLookup && operationType.equals("update")) {
            event.append("fullDocument", lookUp((Document) stored.get("documentKey")));
        }
        event.append("ns", ChangeEventLog.namespaceDocument(namespace));
        if (stored.containsKey("documentKey")) event.append("documentKey", ((Document) stored.get("documentKey")).cloneDeeply());
        if (stored.containsKey("updateDescription")) event.append("updateDescription", ((Document) stored.get("updateDescription")).cloneDeeply());
        return event;
    }

    /** `fullDocument: "updateLookup"`: the document as it is now, read by `_id` (null once deleted). */
    private Document lookUp(Document documentKey) {
        MongoDatabase database = log.backend().resolveDatabase(Utils.getDatabaseNameFromFullName(namespace));
        MongoCollection<?> collection = database.resolveCollection(Utils.getCollectionNameFromFullName(namespace), false);
        if (collection == null) return null;
        for (Document document : collection.handleQuery(documentKey, 0, 1)) return document.cloneDeeply();
        return null;
    }

    private Document invalidateEvent(ChangeEventLog.Entry drop) {
        return new Document("_id", log.token(drop.seq(), true))
            .append("operationType", "invalidate")
            .append("clusterTime", drop.clusterTime())
            .append("wallTime", drop.wallTime());
    }
}
