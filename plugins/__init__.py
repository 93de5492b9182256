"""Built-in restorefw plugins, registered through the `restorefw` entry-point group like any third party."""
