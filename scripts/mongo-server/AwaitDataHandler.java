import de.bwaldvogel.mongo.MongoBackend;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.wire.MongoDatabaseHandler;
import de.bwaldvogel.mongo.wire.message.ClientRequest;
import de.bwaldvogel.mongo.wire.message.MongoMessage;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.group.ChannelGroup;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Honours awaitData for change streams: a getMore on a change stream with nothing to return is
 * answered when a write brings an event the stream's pipeline keeps, or when its `maxTimeMS`
 * (the driver's maxAwaitTimeMS; MongoDB's default is 1 s) runs out, instead of at once.
 *
 * The stock server answers every getMore immediately, so each idle stream busy-loops (about
 * 1,000 getMore/s and most of a core). Nothing blocks here: the request is parked and re-run on
 * its connection's own command thread, so no other connection is held up.
 */
final class AwaitDataHandler extends MongoDatabaseHandler {
    private static final long DEFAULT_AWAIT_MS = 1000;

    private final ChangeStreamBackend backend;

    AwaitDataHandler(ChangeStreamBackend backend, ChannelGroup channels) {
        super(backend, channels);
        this.backend = backend;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, ClientRequest request) {
        if (request instanceof MongoMessage message) {
            Document command = message.getDocument();
            String name = command.keySet().iterator().next();
            if (name.equalsIgnoreCase("getMore") && command.get(name) instanceof Number id) {
                ChangeStreamCursor cursor = backend.changeStreamCursor(id.longValue());
                if (cursor != null && !cursor.isEmpty() && !cursor.hasResults()) {
                    long awaitMs = command.get("maxTimeMS") instanceof Number n ? n.longValue() : DEFAULT_AWAIT_MS;
                    park(ctx, request, cursor, awaitMs);
                    return;
                }
            }
        }
        super.channelRead0(ctx, request);
    }

    private void park(ChannelHandlerContext ctx, ClientRequest request, ChangeStreamCursor cursor, long awaitMs) {
        AtomicBoolean answered = new AtomicBoolean();
        Runnable answer = () -> {
            if (answered.compareAndSet(false, true)) super.channelRead0(ctx, request);
        };
        ScheduledFuture<?> deadline = ctx.executor().schedule(answer, awaitMs, TimeUnit.MILLISECONDS);
        Runnable onWrite = new Runnable() {
            @Override
            public void run() {
                // Called on the writer's thread: hop to this channel's event loop before reading.
                ctx.executor().execute(() -> {
                    if (answered.get()) return;
                    if (!ctx.channel().isActive()) {
                        deadline.cancel(false);
                        answered.set(true);
                    } else if (cursor.isEmpty() || cursor.hasResults()) {
                        deadline.cancel(false);
                        answer.run();
                    } else {
                        backend.changeLog().awaitWriteAfter(cursor.position(), this);
                    }
                });
            }
        };
        backend.changeLog().awaitWriteAfter(cursor.position(), onWrite);
    }
}
