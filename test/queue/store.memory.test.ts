import { MemoryQueueStore } from '../../src/modules/queue/queue.store.memory.js';
import { queueStoreContract } from './store.contract.js';

queueStoreContract('memory', async () => ({ store: new MemoryQueueStore(), close: async () => {} }));
