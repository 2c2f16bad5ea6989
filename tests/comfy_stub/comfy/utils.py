"""Stand-in for comfy.utils.ProgressBar (0.3.64 signature); records updates for tests."""

UPDATES: list = []


class ProgressBar:
    def __init__(self, total, node_id=None):
        self.total, self.current, self.node_id = total, 0, node_id

    def update_absolute(self, value, total=None, preview=None):
        if total is not None:
            self.total = total
        self.current = min(value, self.total)
        UPDATES.append((self.current, self.total, preview))

    def update(self, value):
        self.update_absolute(self.current + value)
