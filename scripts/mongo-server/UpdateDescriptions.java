import de.bwaldvogel.mongo.bson.Document;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Computes a change event's `updateDescription` the way MongoDB 5.0+ reports it for an update
 * with operators: one entry per path an operator really changed, at the path the operator named
 * (`$set: {"lease.until": …}` reports `lease.until`, `$set: {lease: {…}}` reports `lease`); a
 * path whose value did not change is left out (MongoDB logs no-op modifications as nothing);
 * `$unset` of an existing field goes to `removedFields`; `$push` reports the appended elements as
 * `array.N`; an array cut at its end (`$pop`) goes to `truncatedArrays`. Updates that are not
 * operator documents (pipelines) are described by diffing the two documents.
 */
final class UpdateDescriptions {
    private static final Object MISSING = new Object();

    private UpdateDescriptions() {}

    /** True when `update` replaces the whole document (no operator keys): a `replace` event. */
    static boolean isReplacement(Object update) {
        if (!(update instanceof Document spec) || spec.isEmpty()) return false;
        return spec.keySet().stream().noneMatch(key -> key.startsWith("$"));
    }

    static Document describe(Object update, Document before, Document after) {
        Document updatedFields = new Document();
        List<String> removedFields = new ArrayList<>();
        List<Document> truncatedArrays = new ArrayList<>();
        if (update instanceof Document spec && !spec.isEmpty() && spec.keySet().stream().allMatch(key -> key.startsWith("$"))) {
            for (String operator : spec.keySet()) {
                if (operator.equals("$setOnInsert") || !(spec.get(operator) instanceof Document paths)) continue;
                for (String rawPath : paths.keySet()) {
                    if (operator.equals("$rename")) {
                        String target = String.valueOf(paths.get(rawPath));
                        if (valueAt(before, rawPath) != MISSING) removedFields.add(rawPath);
                        Object moved = valueAt(after, target);
                        if (moved != MISSING) updatedFields.put(target, copy(moved));
                        continue;
                    }
                    String path = beforePositional(rawPath);
                    Object old = valueAt(before, path);
                    Object now = valueAt(after, path);
                    if (Objects.equals(old, now)) continue;
                    if (now == MISSING) {
                        removedFields.add(path);
                    } else if (old instanceof List<?> oldList && now instanceof List<?> newList && isPrefix(oldList, newList)) {
                        for (int i = oldList.size(); i < newList.size(); i++) updatedFields.put(path + "." + i, copy(newList.get(i)));
                    } else if (old instanceof List<?> oldList && now instanceof List<?> newList && isPrefix(newList, oldList)) {
                        truncatedArrays.add(new Document("field", path).append("newSize", newList.size()));
                    } else {
                        updatedFields.put(path, copy(now));
                    }
                }
            }
        } else {
            diff("", before, after, updatedFields, removedFields);
        }
        return new Document("updatedFields", updatedFields).append("removedFields", removedFields).append("truncatedArrays", truncatedArrays);
    }

    private static void diff(String prefix, Document before, Document after, Document updatedFields, List<String> removedFields) {
        for (String key : before.keySet()) {
            if (!after.containsKey(key)) removedFields.add(prefix + key);
        }
        for (String key : after.keySet()) {
            Object old = before.containsKey(key) ? before.get(key) : MISSING;
            Object now = after.get(key);
            if (Objects.equals(old, now)) continue;
            if (old instanceof Document oldDoc && now instanceof Document newDoc) {
                diff(prefix + key + ".", oldDoc, newDoc, updatedFields, removedFields);
            } else {
                updatedFields.put(prefix + key, copy(now));
            }
        }
    }

    /** `a.$.b`, `a.$[].b`, `a.$[x].b` → `a`: the positional element is reported as its whole array. */
    private static String beforePositional(String path) {
        String[] parts = path.split("\\.");
        StringBuilder kept = new StringBuilder();
        for (String part : parts) {
            if (part.startsWith("$")) break;
            if (kept.length() > 0) kept.append('.');
            kept.append(part);
        }
        return kept.toString();
    }

    private static Object valueAt(Document document, String path) {
        Object current = document;
        for (String part : path.split("\\.")) {
            if (current instanceof Document doc) {
                if (!doc.containsKey(part)) return MISSING;
                current = doc.get(part);
            } else if (current instanceof List<?> list && part.chars().allMatch(Character::isDigit) && !part.isEmpty()) {
                int index = Integer.parseInt(part);
                if (index >= list.size()) return MISSING;
                current = list.get(index);
            } else {
                return MISSING;
            }
        }
        return current;
    }

    private static boolean isPrefix(List<?> shorter, List<?> longer) {
        if (shorter.size() > longer.size()) return false;
        for (int i = 0; i < shorter.size(); i++) {
            if (!Objects.equals(shorter.get(i), longer.get(i))) return false;
        }
        return true;
    }

    /** Values are taken from the live stored document: copy them so later writes cannot change a logged event. */
    static Object copy(Object value) {
        return new Document("v", value).cloneDeeply().get("v");
    }
}
