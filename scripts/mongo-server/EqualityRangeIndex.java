import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.bson.ObjectId;
import java.time.Instant;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The positions of a collection's documents by the value of an index's leading field (a string or an
 * ObjectId) and then the date in its second field, in date order: what a MongoDB index
 * `{leading: 1, second: 1}` yields for an equality (or `$in`) on the first and a range on the second,
 * as the retention look reads `retention {status, finished_at}` (`status ∈ finished, finished_at <
 * before`). With only {@link EqualityIndex}, such a query looked at every document of its statuses,
 * the whole history, where MongoDB reads only the expired ones.
 *
 * Only a candidate set (the collection matches the whole query on each document). It refuses to
 * serve while any document holds, in either field, a value other than those (or absent and null:
 * such a document cannot match a string equality or a date range), and for any other condition.
 */
final class EqualityRangeIndex {
    private static final Object UNSERVABLE = new Object();

    private final String[] leading;
    private final String[] second;
    private final String leadingPath;
    private final String secondPath;
    private final Map<Object, TreeMap<Instant, TreeSet<Integer>>> positions = new HashMap<>();
    private int unservable;

    EqualityRangeIndex(String leadingPath, String secondPath) {
        this.leadingPath = leadingPath;
        this.secondPath = secondPath;
        this.leading = leadingPath.split("\\.");
        this.second = secondPath.split("\\.");
    }

    String leadingPath() {
        return leadingPath;
    }

    String secondPath() {
        return secondPath;
    }

    private static Object valueAt(Document document, String[] segments) {
        Object current = document;
        for (String segment : segments) {
            if (current == null) return null;
            if (!(current instanceof Document parent)) return UNSERVABLE;
            current = parent.get(segment);
        }
        return current;
    }

    private static boolean servable(Object value) {
        return value instanceof String || value instanceof ObjectId;
    }

    /** Applies `sign` (+1 add, -1 remove) for the document at `position`. */
    private void apply(Integer position, Document document, int sign) {
        Object key = valueAt(document, leading);
        Object date = valueAt(document, second);
        boolean keyOk = key == null || servable(key);
        boolean dateOk = date == null || date instanceof Instant;
        if (!keyOk || !dateOk) {
            unservable += sign;
            return;
        }
        if (key == null || date == null) return;
        if (sign > 0) {
            positions.computeIfAbsent(key, k -> new TreeMap<>()).computeIfAbsent((Instant) date, d -> new TreeSet<>()).add(position);
            return;
        }
        TreeMap<Instant, TreeSet<Integer>> byDate = positions.get(key);
        if (byDate == null) return;
        TreeSet<Integer> set = byDate.get((Instant) date);
        if (set != null && set.remove(position) && set.isEmpty()) {
            byDate.remove((Instant) date);
            if (byDate.isEmpty()) positions.remove(key);
        }
    }

    void add(Integer position, Document document) {
        apply(position, document, 1);
    }

    void remove(Integer position, Document document) {
        apply(position, document, -1);
    }

    /** The document at `position` changed from `before` to `after`: moved only if either of its fields changed. */
    void update(Integer position, Document before, Document after) {
        if (Objects.equals(valueAt(before, leading), valueAt(after, leading)) && Objects.equals(valueAt(before, second), valueAt(after, second))) return;
        remove(position, before);
        add(position, after);
    }

    /**
     * The positions of the documents that can match `equality` on the leading field and `range` on the
     * second, ascending; null when this index cannot tell. At most `limit + 1` are counted before it
     * gives up (returns null), so a wide range costs no more than the set it would be compared with.
     */
    Set<Integer> candidates(Object equality, Object range, int limit) {
        if (unservable > 0 || !(range instanceof Document bounds) || bounds.isEmpty()) return null;
        Instant from = null;
        Instant to = null;
        boolean fromInclusive = true;
        boolean toInclusive = true;
        for (Map.Entry<String, Object> bound : bounds.entrySet()) {
            if (!(bound.getValue() instanceof Instant date)) return null;
            switch (bound.getKey()) {
                case "$gt" -> { from = date; fromInclusive = false; }
                case "$gte" -> { from = date; fromInclusive = true; }
                case "$lt" -> { to = date; toInclusive = false; }
                case "$lte" -> { to = date; toInclusive = true; }
                default -> { return null; }
            }
        }
        // An empty range (a bound past the other) matches nothing; the map would refuse it.
        if (from != null && to != null && (from.isAfter(to) || (from.equals(to) && !(fromInclusive && toInclusive)))) return new TreeSet<>();
        Collection<?> keys;
        if (servable(equality)) {
            keys = List.of(equality);
        } else if (equality instanceof Document operators && operators.size() == 1 && operators.get("$in") instanceof Collection<?> values) {
            keys = values;
        } else {
            return null;
        }
        TreeSet<Integer> found = new TreeSet<>();
        for (Object key : keys) {
            if (!servable(key)) return null;
            TreeMap<Instant, TreeSet<Integer>> byDate = positions.get(key);
            if (byDate == null) continue;
            NavigableMap<Instant, TreeSet<Integer>> slice = byDate;
            if (from != null) slice = slice.tailMap(from, fromInclusive);
            if (to != null) slice = slice.headMap(to, toInclusive);
            for (TreeSet<Integer> set : slice.values()) {
                found.addAll(set);
                if (found.size() > limit) return null;
            }
        }
        return found;
    }
}
