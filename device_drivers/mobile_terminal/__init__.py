"""Mobile enforcement terminal agent (移动执法终端): shifts, patrol track, commands, printing."""
