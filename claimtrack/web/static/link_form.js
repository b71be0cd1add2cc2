// The link form's reading hint ("the other statement contradicts claim 26") follows the relation chosen.
// Without this script the server writes the hint for the relation the form was last sent with.
(function () {
  "use strict";
  var select = document.getElementById("relation");
  var word = document.getElementById("relation-word");
  if (!select || !word) { return; }
  function update() { word.textContent = select.value; }  // text only: the option's value, never markup
  select.addEventListener("change", update);
  update();  // a browser may restore an earlier choice on back/forward
})();
