import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.bson.ObjectId;
import java.util.Collection;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;

/**
 * The positions of a collection's documents by the value of one field (a dotted path), for the
 * equality and `$in` of strings and ObjectIds: what a MongoDB index yields for an equality on its
 * leading field. The stock server keeps no secondary index and scans every document for any query
 * but `_id`, so a query MongoDB serves from an index cost the test server time in proportion to the
 * whole collection (the history), not to what the index holds.
 *
 * Only a candidate set: the collection still matches the whole query on each document, so a
 * superset is always correct. It refuses to serve (returns null) while any document holds a value
 * there that an equality on a string could match other than by being that string (an array, or an
 * array on the way down the path), and for any other query value.
 */
final class EqualityIndex {
    /** A value here that the index cannot key by (an array, a number, a document…). */
    private static final Object UNSERVABLE = new Object();

    private final String[] segments;
    private final Map<Object, TreeSet<Integer>> positions = new HashMap<>();
    /** How many documents hold an UNSERVABLE value: while any do, this index serves nothing. */
    private int unservable;

    EqualityIndex(String path) {
        this.segments = path.split("\\.");
    }

    /** The key of `document`: null (absent or null), a string or ObjectId, or UNSERVABLE. */
    private Object keyOf(Document document) {
        Object current = document;
        for (String segment : segments) {
            if (current == null) return null;
            if (!(current instanceof Document parent)) return UNSERVABLE;
            current = parent.get(segment);
        }
        if (current == null) return null;
        return current instanceof String || current instanceof ObjectId ? current : UNSERVABLE;
    }

    void add(Integer position, Document document) {
        Object key = keyOf(document);
        if (key == UNSERVABLE) unservable++;
        else if (key != null) positions.computeIfAbsent(key, k -> new TreeSet<>()).add(position);
    }

    void remove(Integer position, Document document) {
        Object key = keyOf(document);
        if (key == UNSERVABLE) {
            unservable--;
        } else if (key != null) {
            TreeSet<Integer> set = positions.get(key);
            if (set != null && set.remove(position) && set.isEmpty()) positions.remove(key);
        }
    }

    /**
     * The document at `position` changed from `before` to `after`: moved only if its key changed (a
     * status change moves it; a heartbeat, progress or lease write leaves it where it is).
     */
    void update(Integer position, Document before, Document after) {
        if (Objects.equals(keyOf(before), keyOf(after))) return;
        remove(position, before);
        add(position, after);
    }

    private static boolean servable(Object value) {
        return value instanceof String || value instanceof ObjectId;
    }

    /** How many positions {@link #candidates} would give for `condition` (at most), without copying them; -1 when it gives none. */
    int count(Object condition) {
        if (unservable > 0) return -1;
        if (servable(condition)) return sizeOf(condition);
        if (!(condition instanceof Document operators) || operators.size() != 1) return -1;
        if (servable(operators.get("$eq"))) return sizeOf(operators.get("$eq"));
        if (!(operators.get("$in") instanceof Collection<?> values)) return -1;
        int count = 0;
        for (Object value : values) {
            if (!servable(value)) return -1;
            count += sizeOf(value);
        }
        return count;
    }

    private int sizeOf(Object value) {
        TreeSet<Integer> set = positions.get(value);
        return set == null ? 0 : set.size();
    }

    /**
     * The positions of the documents that can match `condition` (the query's value for this field),
     * ascending; null when this index cannot tell (then the caller scans).
     */
    Set<Integer> candidates(Object condition) {
        if (unservable > 0) return null;
        if (servable(condition)) return new TreeSet<>(positions.getOrDefault(condition, new TreeSet<>()));
        if (!(condition instanceof Document operators) || operators.size() != 1) return null;
        if (servable(operators.get("$eq"))) return candidates(operators.get("$eq"));
        if (!(operators.get("$in") instanceof Collection<?> values)) return null;
        TreeSet<Integer> union = new TreeSet<>();
        for (Object value : values) {
            if (!servable(value)) return null;
            union.addAll(positions.getOrDefault(value, new TreeSet<>()));
        }
        return union;
    }
}
