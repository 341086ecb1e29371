"""Small protections shared by both servers and the CLI (standard library only).

* :mod:`.json_depth` -- refuse JSON nested deeper than any recursive code can take;
* :mod:`.terminal` -- escape control characters in outside data before it reaches a terminal;
* :mod:`.origin` -- Host and Origin checks for loopback-only control endpoints;
* :mod:`.pipes` -- pipes between trcli's processes large enough not to block their writer.
"""
