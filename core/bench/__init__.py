"""`restorefw bench`: a recipes × tasks × levels × seeds grid over an image set, sharded and resumable.

The grid expands into a sorted manifest of work items (recipe, task, level, seed, image). Items of
one cell (recipe, task, level, seed) are grouped into batches of the recipe's `batch_size` in image
order; a batch is the unit of work and of sharding (batch k goes to shard k mod n), so every item
is always restored in the same batch whatever the number of processes, and results do not depend
on sharding. Each item writes its outputs and, last and atomically, its done-record
(`cells/<recipe>/<task>-<level>/seed<s>/images/<image>/done.json`); a rerun skips finished items.
When a process finishes its shard and finds every item of the manifest done, it gathers: set
metrics, `results.json` and the tables (see `restorefw.bench.tables`). The last process to finish
therefore gathers; a lock file keeps two simultaneous finishers from gathering twice.

Modules: `tasks` (the task vocabulary), `grid` (the grid file), `plan` (cells, batches, shards),
`execute` (one process's shard), `gather` (results and the lock), `tables` (the paper's layouts).
Each cell is a run folder (`restorefw.runfolder`) restored through the same build layer and
pipeline as `restorefw run`.
"""

from restorefw.bench.execute import Bench, Outcome, run_bench
from restorefw.bench.grid import Grid, load_grid
from restorefw.bench.plan import Batch, Cell, WorkItem, parse_shard
from restorefw.bench.tasks import Task, Vocabulary

__all__ = ["Bench", "Batch", "Cell", "Grid", "Outcome", "Task", "Vocabulary", "WorkItem", "load_grid", "parse_shard",
           "run_bench"]
