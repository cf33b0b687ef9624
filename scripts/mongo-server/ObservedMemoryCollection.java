import de.bwaldvogel.mongo.MongoDatabase;
import de.bwaldvogel.mongo.backend.ArrayFilters;
import de.bwaldvogel.mongo.backend.CollectionOptions;
import de.bwaldvogel.mongo.backend.CursorRegistry;
import de.bwaldvogel.mongo.backend.Utils;
import de.bwaldvogel.mongo.backend.memory.MemoryCollection;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.oplog.Oplog;
import de.bwaldvogel.mongo.backend.QueryResult;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.function.Supplier;

/**
 * A memory collection that reports each document it changes to the {@link ChangeEventLog}, with
 * the document before and after, however the change was made: update, replace, and
 * findAndModify (update, upsert, remove), which the stock server never logs but MongoDB does.
 *
 * `handleUpdate(position, before, after)` is called once per document really changed (a no-op
 * update changes nothing and logs nothing, as on MongoDB); the update specification it was made
 * with is kept in a thread-local for the duration of the write (the collection is synchronized).
 *
 * It also keeps the positions of the documents by their string `status`, and a query with an
 * equality on `status` (the claims: `status: "pending"` served on MongoDB by the partial
 * `pending_due` index, `status: "running"` by `expired_leases`) looks at those documents only. The
 * stock server scans every document for any query but `_id`, so a claim's cost grew with the
 * finished requests kept as history, where MongoDB's grows with the pending ones: with this, the
 * imitation shows MongoDB's cost curve for the queries the product serves from an index led by
 * `status`. Every other query still scans.
 */
final class ObservedMemoryCollection extends MemoryCollection {
    private static final ThreadLocal<Object> UPDATE_IN_PROGRESS = new ThreadLocal<>();
    private static final ThreadLocal<Boolean> IN_FIND_AND_MODIFY = new ThreadLocal<>();

    private final Supplier<ChangeEventLog> changeLog;

    /** Positions of the documents by their `status` (string values only). */
    private final Map<String, TreeSet<Integer>> byStatus = new HashMap<>();

    ObservedMemoryCollection(MongoDatabase database, String name, CollectionOptions options, CursorRegistry cursors, Supplier<ChangeEventLog> changeLog) {
        super(database, name, options, cursors);
        this.changeLog = changeLog;
    }

    private static String statusOf(Document document) {
        return document != null && document.get("status") instanceof String status ? status : null;
    }

    private void indexStatus(Integer position, String status) {
        if (status != null) byStatus.computeIfAbsent(status, key -> new TreeSet<>()).add(position);
    }

    private void unindexStatus(Integer position, String status) {
        if (status == null) return;
        TreeSet<Integer> positions = byStatus.get(status);
        if (positions != null) positions.remove(position);
    }

    @Override
    protected Integer addDocumentInternal(Document document) {
        Integer position = super.addDocumentInternal(document);
        indexStatus(position, statusOf(document));
        return position;
    }

    @Override
    protected void removeDocument(Integer position) {
        unindexStatus(position, statusOf(getDocument(position)));
        super.removeDocument(position);
    }

    @Override
    protected QueryResult matchDocuments(Document query, Document orderBy, int numberToSkip, int numberToReturn, int batchSize,
                                         Document fieldSelector) {
        if (query != null && query.get("status") instanceof String status) {
            List<Integer> positions = new ArrayList<>(byStatus.getOrDefault(status, new TreeSet<>()));
            return matchDocuments(query, positions, orderBy, numberToSkip, numberToReturn, batchSize, fieldSelector);
        }
        return super.matchDocuments(query, orderBy, numberToSkip, numberToReturn, batchSize, fieldSelector);
    }

    @Override
    public synchronized Document updateDocuments(Document selector, Document update, ArrayFilters arrayFilters, boolean isMulti, boolean isUpsert,
                                                 Oplog oplog) {
        Object previous = UPDATE_IN_PROGRESS.get();
        UPDATE_IN_PROGRESS.set(update);
        try {
            return super.updateDocuments(selector, update, arrayFilters, isMulti, isUpsert, oplog);
        } finally {
            UPDATE_IN_PROGRESS.set(previous);
        }
    }

    @Override
    public synchronized Document findAndModify(Document query) {
        Object previous = UPDATE_IN_PROGRESS.get();
        UPDATE_IN_PROGRESS.set(query.get("update"));
        IN_FIND_AND_MODIFY.set(Boolean.TRUE);
        try {
            Document result = super.findAndModify(query);
            if (Utils.isTrue(query.get("remove")) && result.get("value") instanceof Document deleted) {
                changeLog.get().handleDelete(getFullName(), query, List.of(deleted.get("_id")));
            }
            return result;
        } finally {
            IN_FIND_AND_MODIFY.remove();
            UPDATE_IN_PROGRESS.set(previous);
        }
    }

    @Override
    protected void handleUpdate(Integer position, Document before, Document after) {
        super.handleUpdate(position, before, after);
        unindexStatus(position, statusOf(before));
        indexStatus(position, statusOf(after));
        changeLog.get().recordUpdate(getFullName(), UPDATE_IN_PROGRESS.get(), before, after);
    }

    /** An upsert by findAndModify inserts here without telling the oplog; inserts by `insert`/`update` are logged by the database. */
    @Override
    public synchronized void addDocument(Document document) {
        super.addDocument(document);
        if (Boolean.TRUE.equals(IN_FIND_AND_MODIFY.get())) changeLog.get().handleInsert(getFullName(), List.of(document));
    }
}
