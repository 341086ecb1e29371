"""What the resource commands do, below the CLI layer: no click, no rich.

Each module takes the twilio SDK objects (a workspace context from ``client.taskrouter.v1``)
and plain values, and returns SDK instances or plain data; the ``cli`` modules parse options,
call one function here and print the result.
"""
