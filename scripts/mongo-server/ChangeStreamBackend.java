import de.bwaldvogel.mongo.backend.CollectionOptions;
import de.bwaldvogel.mongo.backend.Cursor;
import de.bwaldvogel.mongo.backend.CursorRegistry;
import de.bwaldvogel.mongo.backend.Index;
import de.bwaldvogel.mongo.backend.IndexKey;
import de.bwaldvogel.mongo.backend.Utils;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;
import de.bwaldvogel.mongo.backend.memory.MemoryDatabase;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.exception.CursorNotFoundException;
import de.bwaldvogel.mongo.oplog.Oplog;
import io.netty.channel.Channel;
import java.util.List;

/**
 * The in-memory backend with MongoDB-shaped change streams: its oplog is a {@link ChangeEventLog},
 * its collections report every update with the document before and after, and its cursor
 * responses for change streams carry `postBatchResumeToken` (MongoDB 4.0.7+ always sends it; the
 * driver's `resumeToken` and its `resumeTokenChanged` event follow it even when nothing matched).
 */
final class ChangeStreamBackend extends MemoryBackend {
    private ChangeEventLog changeLog;

    @Override
    protected Oplog createOplog() {
        return changeLog();
    }

    /** Created on first use: the super constructor may open databases before this class's fields are set. */
    synchronized ChangeEventLog changeLog() {
        if (changeLog == null) changeLog = new ChangeEventLog(this, getCursorRegistry(), getClock());
        return changeLog;
    }

    CursorRegistry cursors() {
        return getCursorRegistry();
    }

    /** The change stream cursor with this id, or null (unknown id, or another kind of cursor). */
    ChangeStreamCursor changeStreamCursor(long id) {
        try {
            return getCursorRegistry().getCursor(id) instanceof ChangeStreamCursor cursor ? cursor : null;
        } catch (CursorNotFoundException e) {
            return null;
        }
    }

    @Override
    public MemoryDatabase openOrCreateDatabase(String databaseName) {
        return new MemoryDatabase(databaseName, getCursorRegistry()) {
            @Override
            protected ObservedMemoryCollection openOrCreateCollection(String collectionName, CollectionOptions options) {
                return new ObservedMemoryCollection(this, collectionName, options, getCursorRegistry(), ChangeStreamBackend.this::changeLog);
            }

            /** Still no index of its own (the stock server ignores it), but equality on its leading field (with a date range on the second) is served from now on. */
            @Override
            protected Index<Integer> openOrCreateSecondaryIndex(String collectionName, String indexName, List<IndexKey> keys, boolean sparse) {
                if (!keys.isEmpty() && resolveCollection(collectionName, false) instanceof ObservedMemoryCollection collection) {
                    collection.serveEquality(keys.get(0).getKey());
                    if (keys.size() > 1) collection.serveEqualityRange(keys.get(0).getKey(), keys.get(1).getKey());
                }
                return super.openOrCreateSecondaryIndex(collectionName, indexName, keys, sparse);
            }

            /**
             * A partial index (its filter is not passed to openOrCreateSecondaryIndex): sorts in its key
             * order are served from now on. Only partial ones: a subset in order is what makes
             * MongoDB's claim cost flat, and an order kept for every index would cost the server
             * memory and time on every write to large collections.
             */
            @Override
            protected synchronized void addIndex(Document indexDescription) {
                super.addIndex(indexDescription);
                String namespace = String.valueOf(indexDescription.get("ns"));
                String collectionName = namespace.substring(namespace.indexOf('.') + 1);
                if (indexDescription.get("key") instanceof Document key && !key.isEmpty()
                    && indexDescription.get("partialFilterExpression") instanceof Document partial
                    && resolveCollection(collectionName, false) instanceof ObservedMemoryCollection collection) {
                    collection.serveOrder(String.valueOf(indexDescription.get("name")), key, partial);
                }
            }
        };
    }

    @Override
    public Document handleCommand(Channel channel, String databaseName, String command, Document query) {
        if (command.equalsIgnoreCase("getMore")) {
            ChangeStreamCursor cursor = changeStreamCursor(((Number) query.get(command)).longValue());
            if (cursor != null) return getMore(databaseName, query, cursor);
        }
        Document match = command.equalsIgnoreCase("aggregate") ? leadingMatch(query) : null;
        Document response = match != null
            ? ObservedMemoryCollection.withLeadingMatch(databaseName + "." + query.get(command), match,
                () -> super.handleCommand(channel, databaseName, command, query))
            : super.handleCommand(channel, databaseName, command, query);
        if (command.equalsIgnoreCase("aggregate") && response.get("cursor") instanceof Document cursorDocument) {
            ChangeStreamCursor cursor = changeStreamCursor(((Number) cursorDocument.get("id")).longValue());
            if (cursor != null) cursorDocument.put("postBatchResumeToken", cursor.postBatchResumeToken());
        }
        return response;
    }

    /** The filter of a collection aggregate's first stage when it is `$match` (a `countDocuments`, say), else null. */
    private static Document leadingMatch(Document query) {
        if (!(query.get("aggregate") instanceof String) || !(query.get("pipeline") instanceof List<?> pipeline) || pipeline.isEmpty()) return null;
        return pipeline.get(0) instanceof Document first && first.size() == 1 && first.get("$match") instanceof Document match ? match : null;
    }

    private Document getMore(String databaseName, Document query, ChangeStreamCursor cursor) {
        int batchSize = ((Number) query.getOrDefault("batchSize", 0)).intValue();
        List<Document> batch = cursor.takeDocuments(batchSize);
        Document postBatchResumeToken = cursor.postBatchResumeToken();
        long id = cursor.getId();
        if (cursor.isEmpty()) {
            getCursorRegistry().remove(cursor);
            id = 0;
        }
        Document cursorDocument = new Document("nextBatch", batch)
            .append("postBatchResumeToken", postBatchResumeToken)
            .append("id", id)
            .append("ns", databaseName + "." + query.get("collection"));
        Document response = new Document("cursor", cursorDocument);
        Utils.markOkay(response);
        return response;
    }
}
