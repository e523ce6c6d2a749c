// Periodic jobs on node-cron: started when the app is ready, stopped and waited for before it closes (so a
// running job never meets a closed database). A failed run is logged; the next tick tries again.
import type { FastifyInstance } from 'fastify';
import cron, { type ScheduledTask } from 'node-cron';

export interface CronJob {
  /** Shown in logs and node-cron's task list. */
  name: string;
  /** A node-cron expression (a seconds field is allowed); validated with the config at start. */
  expression: string;
  run: () => Promise<unknown>;
}

export function scheduleJobs(app: FastifyInstance, jobs: CronJob[]): void {
  const tasks: ScheduledTask[] = [];
  let running: Promise<unknown> = Promise.resolve();
  app.addHook('onReady', async () => {
    for (const job of jobs) {
      const tick = async () => {
        const current = job.run().catch((err: unknown) => app.log.error({ err }, `${job.name} failed`));
        running = Promise.all([running, current]);
        await current;
      };
      tasks.push(cron.schedule(job.expression, tick, { name: job.name, noOverlap: true }));
    }
  });
  app.addHook('preClose', async () => {
    for (const task of tasks) await task.destroy();
    await running;
  });
}
