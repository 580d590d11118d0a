<?php
header("Content-Type: text/plain; charset=utf-8");
$name = isset($_GET["name"]) ? $_GET["name"] : "world";
echo "hello, " . $name . " (" . $_SERVER["REQUEST_METHOD"] . " " . $_SERVER["SCRIPT_NAME"] . ")\n";
