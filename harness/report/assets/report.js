(function(){
'use strict';
var secs=[].slice.call(document.querySelectorAll('section.sc'));
var boxes=[].slice.call(document.querySelectorAll('#filters input[name=v]'));
var tagSel=document.getElementById('f-tag'),tgtSel=document.getElementById('f-target'),q=document.getElementById('f-q');
function split(s){return s?s.split('\n'):[];}
function apply(){
  var on={};boxes.forEach(function(b){on[b.value]=b.checked;});
  var tag=tagSel.value,tgt=tgtSel.value,text=q.value.trim().toLowerCase(),n=0;
  secs.forEach(function(s){
    var any=false;
    [].slice.call(s.querySelectorAll('.tc')).forEach(function(c){
      var inTarget=!tgt||c.getAttribute('data-target')===tgt;
      c.classList.toggle('hidden',!inTarget);
      if(inTarget&&on[c.getAttribute('data-v')])any=true;
    });
    var ok=any&&(!tag||split(s.getAttribute('data-tags')).indexOf(tag)>=0)&&(!text||s.getAttribute('data-q').indexOf(text)>=0);
    s.classList.toggle('hidden',!ok);if(ok)n++;
  });
  document.getElementById('shown').textContent='showing '+n+' of '+secs.length+' scenarios';
}
function reset(){boxes.forEach(function(b){b.checked=true;});tagSel.value='';tgtSel.value='';q.value='';apply();}
function only(v){boxes.forEach(function(b){b.checked=b.value===v;});apply();}
function goHash(){
  var h=decodeURIComponent(location.hash.slice(1));if(h.indexOf('s-')!==0)return;
  var el=document.getElementById(h);if(!el)return;
  if(el.classList.contains('hidden'))reset();
  var d=el.querySelector('details');if(d)d.open=true;
  el.scrollIntoView();
}
boxes.forEach(function(b){b.addEventListener('change',apply);});
tagSel.addEventListener('change',apply);tgtSel.addEventListener('change',apply);q.addEventListener('input',apply);
[].slice.call(document.querySelectorAll('[data-only]')).forEach(function(c){c.addEventListener('click',function(){only(c.getAttribute('data-only'));});});
[].slice.call(document.querySelectorAll('a[data-tag]')).forEach(function(a){a.addEventListener('click',function(e){e.preventDefault();tagSel.value=a.getAttribute('data-tag');apply();});});
document.getElementById('f-reset').addEventListener('click',reset);
function openAll(v){secs.forEach(function(s){if(!s.classList.contains('hidden'))s.querySelector('details').open=v;});}
document.getElementById('f-open').addEventListener('click',function(){openAll(true);});
document.getElementById('f-close').addEventListener('click',function(){openAll(false);});
var p=new URLSearchParams(location.search);
if(p.get('q')!==null)q.value=p.get('q');
if(p.get('v')){var vs=p.get('v').split(',');boxes.forEach(function(b){b.checked=vs.indexOf(b.value)>=0;});}
if(p.get('tag')!==null)tagSel.value=p.get('tag');
if(p.get('target')!==null)tgtSel.value=p.get('target');
apply();
var only1=p.get('only');
if(only1!==null){document.body.classList.add('focus');secs.forEach(function(s){var me=s.id==='s-'+only1;s.classList.toggle('hidden',!me);if(me)s.querySelector('details').open=true;});
  document.getElementById('shown').textContent='showing '+secs.filter(function(s){return !s.classList.contains('hidden');}).length+' of '+secs.length+' scenarios';}
if(p.get('q')!==null)secs.forEach(function(s){if(!s.classList.contains('hidden'))s.querySelector('details').open=true;});
window.addEventListener('hashchange',goHash);goHash();
document.body.setAttribute('data-ready','1');
})();
