import de.bwaldvogel.mongo.backend.Utils;
import de.bwaldvogel.mongo.backend.ValueComparator;
import de.bwaldvogel.mongo.bson.Document;
import java.util.Arrays;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.Objects;
import java.util.TreeSet;
import java.util.function.Predicate;

/**
 * The positions of a collection's documents in the order of an index's key, holding only the
 * documents its partial filter keeps: what MongoDB reads for a sorted query with a limit when the
 * sort is the index's key (the claim: `pending_due {not_before, report_date, _id}`, partial on
 * `status: "pending"`, sorted in that order, limit K). MongoDB walks that index and stops after K
 * documents; the stock server matched every candidate and sorted them all, so a claim cost the
 * test server time in proportion to the backlog (n log n comparisons per claim), which MongoDB
 * does not pay.
 *
 * Only an order to try documents in: the collection still matches the whole query on each one and
 * stops at the limit, so the answer is a scan's. Ties (equal keys) go by position, as the stock
 * server's stable sort leaves them. It refuses to serve (the caller sorts) while any document
 * holds an array on a key path, where sort order and index order differ.
 */
final class OrderedIndex {
    private final String name;
    private final Document keyPattern;
    private final Document partialFilter;
    private final Predicate<Document> keeps;
    /** The key values of each position held, read when it was added (the tree orders by them). */
    private final Map<Integer, Object[]> keys = new HashMap<>();
    private final TreeSet<Integer> order;
    /** How many documents hold an array on a key path: while any do, this index serves nothing. */
    private int unservable;

    /** `keeps` says whether a document belongs (matches `partialFilter`). */
    OrderedIndex(String name, Document keyPattern, Document partialFilter, Predicate<Document> keeps) {
        this.name = name;
        this.keyPattern = keyPattern;
        this.partialFilter = partialFilter;
        this.keeps = keeps;
        String[] paths = keyPattern.keySet().toArray(new String[0]);
        Comparator<Object>[] directions = directions(paths);
        this.order = new TreeSet<>((a, b) -> {
            Object[] keyA = keys.get(a);
            Object[] keyB = keys.get(b);
            for (int i = 0; i < paths.length; i++) {
                int cmp = directions[i].compare(keyA[i], keyB[i]);
                if (cmp != 0) return cmp;
            }
            return Integer.compare(a, b);
        });
    }

    @SuppressWarnings("unchecked")
    private Comparator<Object>[] directions(String[] paths) {
        Comparator<Object>[] directions = new Comparator[paths.length];
        for (int i = 0; i < paths.length; i++) {
            boolean ascending = ((Number) keyPattern.get(paths[i])).intValue() > 0;
            directions[i] = ascending ? ValueComparator.asc() : ValueComparator.desc();
        }
        return directions;
    }

    String name() {
        return name;
    }

    int size() {
        return order.size();
    }

    void add(Integer position, Document document) {
        if (!keeps.test(document)) return;
        Object[] key = keyOf(document);
        for (Object value : key) {
            if (value instanceof Collection<?>) {
                unservable++;
                break;
            }
        }
        keys.put(position, key);
        order.add(position);
    }

    /** The key values of `document`, in the key pattern's order. */
    private Object[] keyOf(Document document) {
        Object[] key = new Object[keyPattern.size()];
        int i = 0;
        for (String path : keyPattern.keySet()) {
            // The value the stock server's sort compares (DocumentComparator reads it the same way).
            key[i++] = Utils.getSubdocumentValueCollectionAware(document, path);
        }
        return key;
    }

    /**
     * The document at `position` changed from `before` to `after`: left in place when it stays in the
     * index with the same key (MongoDB's update touches only the index keys that changed).
     */
    void update(Integer position, Document before, Document after) {
        Object[] held = keys.get(position);
        if (held != null && keeps.test(after) && Arrays.equals(held, keyOf(after))) return;
        remove(position, before);
        add(position, after);
    }

    void remove(Integer position, Document document) {
        Object[] key = keys.get(position);
        if (key == null) return;
        // Out of the tree while its key is still known: the tree compares by it.
        order.remove(position);
        keys.remove(position);
        for (Object value : key) {
            if (value instanceof Collection<?>) {
                unservable--;
                break;
            }
        }
    }

    /**
     * Whether this index yields `orderBy` for `query`: the sort is the key pattern exactly (same
     * fields, order and directions), and the query implies the partial filter (holds each of its
     * conditions as written), so every document the query can match is in the index.
     */
    boolean serves(Document query, Document orderBy) {
        if (unservable > 0 || orderBy == null || orderBy.size() != keyPattern.size()) return false;
        Iterator<Map.Entry<String, Object>> wanted = orderBy.entrySet().iterator();
        for (Map.Entry<String, Object> key : keyPattern.entrySet()) {
            Map.Entry<String, Object> sort = wanted.next();
            if (!sort.getKey().equals(key.getKey())) return false;
            if (!(sort.getValue() instanceof Number s) || Integer.signum(s.intValue()) != Integer.signum(((Number) key.getValue()).intValue())) return false;
        }
        for (Map.Entry<String, Object> condition : partialFilter.entrySet()) {
            if (!query.containsKey(condition.getKey()) || !Objects.equals(query.get(condition.getKey()), condition.getValue())) return false;
        }
        return true;
    }

    /** The positions held, in key order (a live view: read it under the collection's lock). */
    Iterable<Integer> inOrder() {
        return order;
    }
}
