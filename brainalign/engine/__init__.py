"""The job engine shared by every task: identity, result store, executors, run lock.

``engine`` never imports ``tasks``: a task hands the engine its jobs and a job function.
"""

from brainalign.engine.executors import Executor, InProcessExecutor, execute, get_executor
from brainalign.engine.job import Job
from brainalign.engine.session import Session, Task, run_task
from brainalign.engine.store import JobOutput, ResultStore

__all__ = ["Executor", "InProcessExecutor", "Job", "JobOutput", "ResultStore", "Session", "Task", "execute",
           "get_executor", "run_task"]
