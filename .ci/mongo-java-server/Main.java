import de.bwaldvogel.mongo.MongoDatabase;
import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.MongoVersion;
import de.bwaldvogel.mongo.backend.CollectionOptions;
import de.bwaldvogel.mongo.backend.CursorRegistry;
import de.bwaldvogel.mongo.backend.Index;
import de.bwaldvogel.mongo.backend.IndexKey;
import de.bwaldvogel.mongo.backend.QueryResult;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;
import de.bwaldvogel.mongo.backend.memory.MemoryCollection;
import de.bwaldvogel.mongo.backend.memory.MemoryDatabase;
import de.bwaldvogel.mongo.bson.Document;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;

/**
 * mongo-java-server on 127.0.0.1:PORT with the in-memory backend, for deferflow's test suite.
 *
 * <p>Two departures from the stock server, both through the library's extension points:
 *
 * <ul>
 *   <li>The library's own ServerVersion enum reports wire version 8 at most; the Node driver 7
 *       refuses servers below wire 9, so the server claims MongoDB 5.0 (wire 13), whose commands it
 *       implements.
 *   <li>Index selection as MongoDB does it for the filters deferflow sends (see {@link
 *       IndexPlannedCollection}). Run with {@code --stock-planner} to measure the stock behaviour.
 * </ul>
 */
public final class Main {
  private static final MongoVersion MONGO_5_0_WIRE_13 = new MongoVersion() {
    @Override public List<Integer> getVersionArray() { return List.of(5, 0, 0); }
    @Override public int getWireVersion() { return 13; }
  };

  public static void main(String[] args) throws InterruptedException {
    boolean stockPlanner = args.length == 2 && args[1].equals("--stock-planner");
    if (args.length < 1 || args.length > 2 || (args.length == 2 && !stockPlanner)) {
      System.err.println("usage: Main PORT [--stock-planner]");
      System.exit(2);
    }
    int port = Integer.parseInt(args[0]);
    MemoryBackend backend = stockPlanner ? new MemoryBackend() : new IndexPlannedBackend();
    MongoServer server = new MongoServer(backend.version(MONGO_5_0_WIRE_13));
    server.bind("127.0.0.1", port);
    System.out.println("mongo-java-server listening on 127.0.0.1:" + port + (stockPlanner ? " (stock planner)" : ""));
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      server.shutdownNow();
      stopped.countDown();
    }));
    stopped.await();
  }

  static final class IndexPlannedBackend extends MemoryBackend {
    @Override
    public MemoryDatabase openOrCreateDatabase(String databaseName) {
      return new IndexPlannedDatabase(databaseName, getCursorRegistry());
    }
  }

  static final class IndexPlannedDatabase extends MemoryDatabase {
    IndexPlannedDatabase(String databaseName, CursorRegistry cursorRegistry) {
      super(databaseName, cursorRegistry);
    }

    @Override
    protected MemoryCollection openOrCreateCollection(String collectionName, CollectionOptions options) {
      return new IndexPlannedCollection(this, collectionName, options, cursorRegistry);
    }
  }

  /**
   * The stock planner uses a unique index only when a filter names exactly that index's keys, so a
   * guarded write such as {@code {_id, state, version}} scans the whole collection: 1-9 ms per
   * write at 1,000-5,000 documents against 0.02 ms for {@code {_id}} alone, which made this test
   * server, not deferflow, the limit of every throughput figure. MongoDB answers such a filter from
   * the _id index and matches the rest of the filter on the one document it finds; this does the
   * same. When a filter names every key of a unique index with values that index can look up (an
   * equality or {@code $in}), the candidates come from the index and the whole filter is matched on
   * them — the same documents the scan would match, because a document outside the index's answer
   * cannot satisfy the index keys' part of the filter. All other filters take the stock path.
   * Every caller of queryDocuments holds the collection's monitor (AbstractSynchronizedMongoCollection),
   * so atomicity is unchanged.
   */
  static final class IndexPlannedCollection extends MemoryCollection {
    private final Map<String, Index<Integer>> uniqueIndexes = new ConcurrentHashMap<>();

    IndexPlannedCollection(MongoDatabase database, String collectionName, CollectionOptions options, CursorRegistry cursorRegistry) {
      super(database, collectionName, options, cursorRegistry);
    }

    @Override
    public void addIndex(Index<Integer> index) {
      super.addIndex(index);
      // super keeps the first index of a name; so does this map.
      if (index.isUnique()) uniqueIndexes.putIfAbsent(index.getName(), index);
    }

    @Override
    public void dropIndex(String indexName) {
      super.dropIndex(indexName);
      uniqueIndexes.remove(indexName);
    }

    @Override
    protected QueryResult queryDocuments(Document query, Document orderBy, int numberToSkip, int limit, int batchSize, Document fieldSelector) {
      for (Index<Integer> index : uniqueIndexes.values()) {
        Document keyPart = keyPart(query, index);
        // A filter of exactly the index's keys is the stock planner's case; leave it to it.
        if (keyPart != null && keyPart.size() < query.size() && index.canHandle(keyPart)) {
          return matchDocuments(query, index.getPositions(keyPart), orderBy, numberToSkip, limit, batchSize, fieldSelector);
        }
      }
      return super.queryDocuments(query, orderBy, numberToSkip, limit, batchSize, fieldSelector);
    }

    /** The filter's entries for the index's keys, or null when the filter does not name them all. */
    private static Document keyPart(Document query, Index<Integer> index) {
      Document keyPart = new Document();
      for (IndexKey key : index.getKeys()) {
        if (!query.containsKey(key.getKey())) return null;
        keyPart.put(key.getKey(), query.get(key.getKey()));
      }
      return keyPart;
    }
  }
}
