import de.bwaldvogel.mongo.MongoDatabase;
import de.bwaldvogel.mongo.backend.ArrayFilters;
import de.bwaldvogel.mongo.backend.CollectionOptions;
import de.bwaldvogel.mongo.backend.CursorRegistry;
import de.bwaldvogel.mongo.backend.Index;
import de.bwaldvogel.mongo.backend.Utils;
import de.bwaldvogel.mongo.backend.memory.MemoryCollection;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.oplog.Oplog;
import de.bwaldvogel.mongo.backend.QueryResult;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Supplier;
import java.util.stream.Stream;

/**
 * A memory collection that reports each document it changes to the {@link ChangeEventLog}, with
 * the document before and after, however the change was made: update, replace, and
 * findAndModify (update, upsert, remove), which the stock server never logs but MongoDB does.
 *
 * `handleUpdate(position, before, after)` is called once per document really changed (a no-op
 * update changes nothing and logs nothing, as on MongoDB); the update specification it was made
 * with is kept in a thread-local for the duration of the write (the collection is synchronized).
 *
 * It also serves equality from positions kept by value ({@link EqualityIndex}): on `status` always
 * (the claims: `status: "pending"` served on MongoDB by the partial `pending_due` index,
 * `status: "running"` by `running_leases`), and on the leading field of every other index created
 * on the collection (MongoDB would read that index for an equality there: `fingerprint` for the
 * reuse look-up, `owner`, `callback.state` for the webhook outbox, `request_id` for result chunks
 * and idempotency keys). A query with `_id` and other fields (a fenced update) reads the `_id`
 * index. A query, update, delete or count, and an aggregation whose first stage is `$match` (so
 * `countDocuments`), looks at the smallest candidate set any of them gives, and matches the whole
 * query on those documents only. The stock server scans every document for any query but `_id`
 * alone, so the cost of a query MongoDB serves from an index grew with the whole collection (the
 * finished requests kept as history): with this, the imitation shows MongoDB's cost curve for
 * those shapes. An index of two fields or more also serves that equality with a date range on its
 * second field ({@link EqualityRangeIndex}: the retention look). A sorted query with a limit whose
 * sort is an index's key, and which implies that index's partial filter, is read in that index's
 * order and stops at the limit ({@link OrderedIndex}: the claims), as MongoDB reads it; other
 * sorts still sort what is left.
 */
final class ObservedMemoryCollection extends MemoryCollection {
    private static final ThreadLocal<Object> UPDATE_IN_PROGRESS = new ThreadLocal<>();

    private final Supplier<ChangeEventLog> changeLog;

    /**
     * The aggregation being run on this thread, when its first stage is `$match`: the namespace it
     * reads and that filter (see {@link #queryAllAsStream}).
     */
    private static final ThreadLocal<LeadingMatch> LEADING_MATCH = new ThreadLocal<>();

    record LeadingMatch(String namespace, Document match) {}

    /** Positions by value, by field path (`status`, and the leading field of each index created here). */
    private final Map<String, EqualityIndex> equality = new HashMap<>();
    /** Positions by leading value and then date, for each index created here with two fields or more. */
    private final List<EqualityRangeIndex> ranges = new ArrayList<>();
    /** Positions in key order, for each index created here (with its partial filter). */
    private final List<OrderedIndex> ordered = new ArrayList<>();

    ObservedMemoryCollection(MongoDatabase database, String name, CollectionOptions options, CursorRegistry cursors, Supplier<ChangeEventLog> changeLog) {
        super(database, name, options, cursors);
        this.changeLog = changeLog;
        equality.put("status", new EqualityIndex("status"));
    }

    /** Runs `command` (an aggregate) with its leading `$match` known to the collection it reads first. */
    static <T> T withLeadingMatch(String namespace, Document match, Supplier<T> command) {
        LEADING_MATCH.set(new LeadingMatch(namespace, match));
        try {
            return command.get();
        } finally {
            LEADING_MATCH.remove();
        }
    }

    /** Serves equality on `path` from now on (an index led by it was created); indexes the documents already here. */
    synchronized void serveEquality(String path) {
        if (equality.containsKey(path)) return;
        EqualityIndex index = new EqualityIndex(path);
        streamAllDocumentsWithPosition().forEach(each -> index.add(each.getPosition(), each.getDocument()));
        equality.put(path, index);
    }

    /** Serves an equality on `leading` with a date range on `second` from now on (an index led by them was created). */
    synchronized void serveEqualityRange(String leading, String second) {
        for (EqualityRangeIndex index : ranges) if (index.leadingPath().equals(leading) && index.secondPath().equals(second)) return;
        EqualityRangeIndex index = new EqualityRangeIndex(leading, second);
        streamAllDocumentsWithPosition().forEach(each -> index.add(each.getPosition(), each.getDocument()));
        ranges.add(index);
    }

    /** Serves sorts in the order of this partial index from now on (it was created); indexes the documents already here. */
    synchronized void serveOrder(String indexName, Document keyPattern, Document partialFilter) {
        for (OrderedIndex index : ordered) if (index.name().equals(indexName)) return;
        OrderedIndex index = new OrderedIndex(indexName, keyPattern, partialFilter, document -> documentMatchesQuery(document, partialFilter));
        streamAllDocumentsWithPosition().forEach(each -> index.add(each.getPosition(), each.getDocument()));
        ordered.add(index);
    }

    @Override
    public synchronized void dropIndex(String indexName) {
        super.dropIndex(indexName);
        ordered.removeIf(index -> index.name().equals(indexName));
    }

    /**
     * Where the documents that can match a query are found, and at most how many there are, before
     * any position is copied: a sorted claim is read in an {@link OrderedIndex}'s order when that is no
     * larger, and copying every pending position first (to learn their number) cost the test server
     * time in proportion to the backlog on every claim, which MongoDB, reading the partial index in
     * order up to the limit, never pays.
     */
    private interface Candidates {
        int size();

        /** The positions, ascending (copied: read them under the collection's lock). */
        Set<Integer> positions();

        static Candidates of(Set<Integer> positions) {
            return new Candidates() {
                public int size() {
                    return positions.size();
                }

                public Set<Integer> positions() {
                    return positions;
                }
            };
        }

        static Candidates ofEquality(EqualityIndex index, Object condition, int count) {
            return new Candidates() {
                public int size() {
                    return count;
                }

                public Set<Integer> positions() {
                    return index.candidates(condition);
                }
            };
        }
    }

    /**
     * The documents that can match `query`, from the index giving the fewest (an equality index's
     * positions are counted, and copied only when asked for); null when none applies. An `$or` is
     * served when every branch is (the union).
     */
    private synchronized Candidates candidates(Document query) {
        Candidates best = null;
        for (Map.Entry<String, Object> entry : query.entrySet()) {
            if (entry.getKey().equals("$or") && entry.getValue() instanceof List<?> branches) {
                Set<Integer> union = new TreeSet<>();
                for (Object branch : branches) {
                    Candidates some = branch instanceof Document document ? candidates(document) : null;
                    if (some == null) {
                        union = null;
                        break;
                    }
                    union.addAll(some.positions());
                }
                if (union != null && (best == null || union.size() < best.size())) best = Candidates.of(union);
            } else if (entry.getKey().equals(getIdField()) && query.size() > 1) {
                Set<Integer> found = byId(entry.getValue());
                if (found != null && (best == null || found.size() < best.size())) best = Candidates.of(found);
            } else if (equality.containsKey(entry.getKey())) {
                EqualityIndex index = equality.get(entry.getKey());
                int count = index.count(entry.getValue());
                if (count >= 0 && (best == null || count < best.size())) best = Candidates.ofEquality(index, entry.getValue(), count);
            }
        }
        for (EqualityRangeIndex index : ranges) {
            if (!query.containsKey(index.leadingPath()) || !query.containsKey(index.secondPath())) continue;
            int bound = best == null ? Integer.MAX_VALUE - 1 : best.size();
            Set<Integer> found = index.candidates(query.get(index.leadingPath()), query.get(index.secondPath()), bound);
            if (found != null && found.size() < bound) best = Candidates.of(found);
        }
        return best;
    }

    /** The `_id` index's answer for an `_id` condition it can handle (a value or `$in`), else null. */
    private Set<Integer> byId(Object condition) {
        Document idQuery = new Document(getIdField(), condition);
        for (Index<Integer> index : getIndexes()) {
            if (index.isUnique() && index.getKeys().size() == 1 && index.getKeys().get(0).getKey().equals(getIdField()) && index.canHandle(idQuery)) {
                TreeSet<Integer> positions = new TreeSet<>();
                index.getPositions(idQuery).forEach(position -> {
                    if (position != null) positions.add(position);
                });
                return positions;
            }
        }
        return null;
    }

    @Override
    protected Integer addDocumentInternal(Document document) {
        Integer position = super.addDocumentInternal(document);
        for (EqualityIndex index : equality.values()) index.add(position, document);
        for (EqualityRangeIndex index : ranges) index.add(position, document);
        for (OrderedIndex index : ordered) index.add(position, document);
        return position;
    }

    @Override
    protected void removeDocument(Integer position) {
        Document document = getDocument(position);
        if (document != null) {
            for (EqualityIndex index : equality.values()) index.remove(position, document);
            for (EqualityRangeIndex index : ranges) index.remove(position, document);
            for (OrderedIndex index : ordered) index.remove(position, document);
        }
        super.removeDocument(position);
    }

    @Override
    protected QueryResult matchDocuments(Document query, Document orderBy, int numberToSkip, int numberToReturn, int batchSize,
                                         Document fieldSelector) {
        Candidates served = query == null ? null : candidates(query);
        OrderedIndex inOrder = numberToReturn > 0 && query != null ? orderFor(query, orderBy) : null;
        if (inOrder != null && (served == null || inOrder.size() <= served.size())) {
            // Already in the sort's order: match in it and stop at the limit (no comparator).
            return matchDocuments(query, inOrder.inOrder(), null, numberToSkip, numberToReturn, batchSize, fieldSelector);
        }
        if (served != null) {
            List<Integer> positions = new ArrayList<>(served.positions());
            if (isNaturalDescending(orderBy)) Collections.reverse(positions);
            return matchDocuments(query, positions, orderBy, numberToSkip, numberToReturn, batchSize, fieldSelector);
        }
        return super.matchDocuments(query, orderBy, numberToSkip, numberToReturn, batchSize, fieldSelector);
    }

    /** The smallest index that yields `orderBy` for `query`, or null. */
    private OrderedIndex orderFor(Document query, Document orderBy) {
        OrderedIndex best = null;
        for (OrderedIndex index : ordered) {
            if (index.serves(query, orderBy) && (best == null || index.size() < best.size())) best = index;
        }
        return best;
    }

    /**
     * What an aggregation reads first: when it is this collection's and the pipeline starts with a
     * `$match` an index serves, only the candidate documents (the `$match` stage still filters
     * them). Used once: a `$lookup` or `$unionWith` later in the pipeline reads the whole collection.
     */
    @Override
    public Stream<Document> queryAllAsStream() {
        LeadingMatch leading = LEADING_MATCH.get();
        if (leading != null && leading.namespace().equals(getFullName())) {
            LEADING_MATCH.remove();
            synchronized (this) {
                Candidates served = candidates(leading.match());
                if (served != null) return served.positions().stream().map(this::getDocument).filter(Objects::nonNull).toList().stream();
            }
        }
        return super.queryAllAsStream();
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
        try {
            Document result = super.findAndModify(query);
            if (Utils.isTrue(query.get("remove")) && result.get("value") instanceof Document deleted) {
                changeLog.get().handleDelete(getFullName(), query, List.of(deleted.get("_id")));
            }
            return result;
        } finally {
            UPDATE_IN_PROGRESS.set(previous);
        }
    }

    @Override
    protected void handleUpdate(Integer position, Document before, Document after) {
        super.handleUpdate(position, before, after);
        // Each index moves the document only if its key there changed, as MongoDB's update does.
        for (EqualityIndex index : equality.values()) index.update(position, before, after);
        for (EqualityRangeIndex index : ranges) index.update(position, before, after);
        for (OrderedIndex index : ordered) index.update(position, before, after);
        changeLog.get().recordUpdate(getFullName(), UPDATE_IN_PROGRESS.get(), before, after);
    }

    /**
     * Every insert (by `insert`, an upsert by `update` or by findAndModify) is logged here, under the
     * collection's lock: the stock server logged it after the lock was released, so a claim updating
     * the new document on another thread could be copied half-way (a ConcurrentModificationException,
     * answered as "Unknown error: null") or logged before the insert.
     */
    @Override
    public synchronized void addDocument(Document document) {
        super.addDocument(document);
        if (!getCollectionName().startsWith("system.")) changeLog.get().recordInsert(getFullName(), document);
    }
}
